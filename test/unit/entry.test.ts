// The package entries (register.js → the bundled dist/agent.js, and register.mjs, which ES
// modules get) expose exactly the manual API, to CommonJS and to ESM named imports, as one module
// instance.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { runToExit, repoRoot } from '../helpers/spawn-app';
import * as api from '../../agent/api';

const apiNames = Object.keys(api).filter((k) => k !== '__esModule').sort();

for (const entry of ['register.js', 'register.mjs']) {
  test(`${entry}: CommonJS and ESM see the same API names, the same functions`, async () => {
    const script = path.join(repoRoot(), 'test', 'fixtures', 'entry-exports.mjs');
    const r = await runToExit({ script, args: [path.join(repoRoot(), entry)], loader: 'none', env: { AWS_XRAY_SDK_ENABLED: 'false' } });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { esm: string[]; cjs: string[]; same: boolean; defaultIsCjs: boolean };
    assert.deepEqual(out.cjs, apiNames);
    // Node ≥ 23 adds a 'module.exports' name to the namespace of every CommonJS module.
    assert.deepEqual(out.esm.filter((k) => k !== 'default' && k !== '__esModule' && k !== 'module.exports'), apiNames);
    assert.equal(out.same, true, 'named imports are the functions require() returns');
    assert.equal(out.defaultIsCjs, true, 'the default import is what require() returns');
  });
}

test('the files read at every start-up are pure ASCII (one other byte makes V8 decode the whole bundle to two-byte text)', async () => {
  const { readFileSync } = await import('node:fs');
  for (const file of ['dist/agent.js', 'register.js', 'register.mjs']) {
    const bytes = readFileSync(path.join(repoRoot(), file));
    const at = bytes.findIndex((b) => b > 0x7f);
    assert.equal(at, -1, `${file}: non-ASCII byte at offset ${at}`);
  }
});
