// `xray-agent listen` answers the daemon's sampling requests on TCP: an app pointed at it gets a
// rule that samples every request (no "proxy unreachable" warning, no 1/s + 5 % sampling), and
// the matched rule name is recorded.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { startListener } from '../../bin/listen';
import { spawnApp, httpRequest } from '../helpers/spawn-app';

test('apps pointed at the listener sample every request through its sampling rule', async () => {
  let printed = '';
  const out = new Writable({
    write(chunk, _enc, cb) {
      printed += String(chunk);
      cb();
    },
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'xray-listen-'));
  const ndjson = path.join(dir, 'docs.ndjson');
  const docs = (): Array<{ name?: string; http?: { request?: { url?: string } }; aws?: { xray?: { sampling_rule_name?: string } } }> =>
    readFileSync(ndjson, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const listener = await startListener({ port: 0, out, quietMs: 50, color: false, ndjson });
  try {
    assert.equal(listener.samplingPort, listener.port, 'TCP sampling on the same port as UDP');
    const rules = await httpRequest(`http://127.0.0.1:${listener.samplingPort}/GetSamplingRules`, { method: 'POST', body: '{}' });
    const rule = (JSON.parse(rules.body) as { SamplingRuleRecords: Array<{ SamplingRule: { RuleName: string; FixedRate: number } }> }).SamplingRuleRecords[0].SamplingRule;
    assert.deepEqual({ name: rule.RuleName, rate: rule.FixedRate }, { name: 'Default', rate: 1 });

    const app = await spawnApp({
      script: 'http-app.js',
      env: { AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${listener.port}`, AWS_XRAY_TRACING_NAME: 'dev-app', AWS_XRAY_SAMPLING_RULES_POLL_MS: '100' },
    });
    try {
      // Requests before the rules arrive are decided by the local fallback (1/s + 5 %): wait
      // until a segment shows the listener's rule, then every request must be sampled by it.
      const deadline = Date.now() + 10_000;
      while (!docs().some((d) => d.aws?.xray?.sampling_rule_name === 'Default') && Date.now() < deadline) {
        await httpRequest(app.url('/status?code=200'));
        await new Promise((r) => setTimeout(r, 50));
      }
      for (let i = 0; i < 10; i++) await httpRequest(app.url(`/hello?i=${i}`));
      const wanted = (d: ReturnType<typeof docs>[number]) => d.name === 'dev-app' && d.http?.request?.url?.endsWith('/hello') === true;
      while (docs().filter(wanted).length < 10 && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 50));
      const sampled = docs().filter(wanted);
      assert.equal(sampled.length, 10, printed);
      for (const d of sampled) assert.equal(d.aws?.xray?.sampling_rule_name, 'Default');
      assert.match(printed, /dev-app/);
    } finally {
      await app.stop();
      assert.ok(!app.stderr.includes('not reachable'), app.stderr);
    }
  } finally {
    await listener.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
