// `xray-agent listen` answers the daemon's sampling requests on TCP: an app pointed at it gets a
// rule that samples every request (no "proxy unreachable" warning, no 1/s + 5 % sampling), and
// the matched rule name is recorded.

import { test } from 'node:test';
import assert from 'node:assert/strict';
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
  const listener = await startListener({ port: 0, out, quietMs: 50, color: false });
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
      // The first requests may be decided by the local fallback (1/s + 5 %) before the rules
      // arrive; once they have, every request is sampled under the "Default" rule.
      await new Promise((r) => setTimeout(r, 400));
      for (let i = 0; i < 10; i++) await httpRequest(app.url(`/hello?i=${i}`));
      const deadline = Date.now() + 5000;
      while ((printed.match(/dev-app/g) ?? []).length < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok((printed.match(/dev-app/g) ?? []).length >= 10, printed);
    } finally {
      await app.stop();
      assert.ok(!app.stderr.includes('not reachable'), app.stderr);
    }
  } finally {
    await listener.close();
  }
});
