// The module hook and registry (agent/hooks): packages are patched when the app loads them, with
// require() or import(); only versions in range; a patch that throws is undone whole and the
// package works unpatched; disabled instrumentations are left alone. Uses small packages written
// to a temp folder and test definitions, so it tests the mechanism, not any one library.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runToExit, repoRoot } from '../helpers/spawn-app';

let root: string;

function pkg(name: string, version: string, files: Record<string, string>, main = 'index.js'): void {
  const dir = path.join(root, 'node_modules', ...name.split('/'));
  for (const [file, text] of Object.entries({ ...files, 'package.json': JSON.stringify({ name, version, main }) })) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
}

before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'xray-hooks-'));
  pkg('greeter', '1.4.0', {
    'index.js': "const internal = require('./lib/internal'); exports.greet = function greet(name, punctuation) { return 'hello ' + name; }; exports.internal = () => internal.secret();",
    'lib/internal.js': "exports.secret = () => 'secret';",
  });
  // Same package name, version out of range, installed under another folder name is not how npm
  // lays out; so the old one is a separate package whose name matches nothing but shares code.
  pkg('greeter-old', '0.9.0', { 'index.js': "exports.greet = (n) => 'hello ' + n;" });
  pkg('breaker', '1.0.0', { 'index.js': "exports.first = () => 'first'; exports.second = () => 'second';" });
  pkg('@acme/scoped', '3.1.0', { 'lib/main.js': 'exports.value = 1;' }, './lib/main');
  pkg('off', '1.0.0', { 'index.js': 'exports.value = 1;' });
});
after(() => rmSync(root, { recursive: true, force: true }));

for (const mode of ['require', 'import']) {
  test(`packages loaded with ${mode}() are patched per their definitions`, async () => {
    const r = await runToExit({
      script: path.join(repoRoot(), 'test', 'fixtures', 'hooks', 'run-hooked.js'),
      args: [mode],
      loader: 'none',
      env: { XRAY_TEST_NODE_MODULES: path.join(root, 'node_modules') },
    });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown> & { status: Array<Record<string, string>> };
    assert.equal(out.greet, 'hello ann (traced)');
    assert.equal(out.greetName, 'greet', 'the wrapper keeps the name');
    assert.equal(out.greetLength, 2, 'the wrapper keeps the length');
    assert.equal(out.internal, 'secret (internal traced)', 'internal files are patched too');
    assert.equal(out.old, 'hello bob');
    assert.equal(out.breakerFirst, 'first', 'the wrap made before the patch threw was undone');
    assert.equal(out.breakerSecond, 'second');
    assert.equal(out.scopedReplaced, true, 'a patch may replace the exports (scoped package, custom main)');
    assert.equal(out.offTouched, undefined, 'disabled instrumentations never run');
    const byModule = Object.fromEntries(out.status.map((s) => [s.module, s.status]));
    assert.deepEqual(byModule, { greeter: 'patched', breaker: 'failed', '@acme/scoped': 'patched', off: 'disabled' });
    const errors = r.stderr.split('\n').filter((l) => l.includes('"level":50'));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0], /instrumentation \\"breaker\\" failed on breaker@1.0.0/);
  });
}

test('a version out of range is left alone with one warning naming version and range', async () => {
  pkg('greeter', '2.0.1', {
    'index.js': "exports.greet = (n) => 'hi ' + n; exports.internal = () => 'x';",
  });
  try {
    const r = await runToExit({
      script: path.join(repoRoot(), 'test', 'fixtures', 'hooks', 'run-hooked.js'),
      args: ['require'],
      loader: 'none',
      env: { XRAY_TEST_NODE_MODULES: path.join(root, 'node_modules') },
    });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { greet: string; status: Array<Record<string, string>> };
    assert.equal(out.greet, 'hi ann');
    assert.ok(out.status.some((s) => s.module === 'greeter' && s.status === 'out of range' && s.version === '2.0.1'));
    const warnings = r.stderr.split('\n').filter((l) => l.includes('greeter@2.0.1 is not instrumented'));
    assert.equal(warnings.length, 1, r.stderr);
    assert.match(warnings[0], />=1\.0\.0 <2/);
  } finally {
    pkg('greeter', '1.4.0', {
      'index.js': "const internal = require('./lib/internal'); exports.greet = function greet(name, punctuation) { return 'hello ' + name; }; exports.internal = () => internal.secret();",
      'lib/internal.js': "exports.secret = () => 'secret';",
    });
  }
});
