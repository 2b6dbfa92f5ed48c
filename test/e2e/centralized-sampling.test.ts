// End-to-end: centralized sampling through a stand-in for the daemon's TCP proxy. A real
// `node --require @xray/agent` app (test/fixtures/http-app.js) gets its rules from the proxy,
// applies them per request, reports statistics, survives the proxy going away (local fallback
// once the rules expire, no slow or failed requests), and recovers when it comes back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUdpDaemon, type XrayDocument } from '../helpers/udp-daemon';
import { spawnApp, httpRequest } from '../helpers/spawn-app';
import { defaultRule, samplingRule, startSamplingProxy } from '../helpers/sampling-proxy';

/** Local rules for the fallback: trace everything, so a fallback decision is easy to see. */
const LOCAL_ALWAYS = JSON.stringify({ version: 2, default: { fixed_target: 0, rate: 1 } });
const RULES_TTL_MS = 1500;

const isSegment = (d: XrayDocument) => d.type !== 'subsegment';
const pathOf = (d: XrayDocument) => new URL(String(d.http?.request?.url ?? 'http://x/')).pathname;
const ruleOf = (d: XrayDocument) => (d.aws as { xray?: Record<string, unknown> } | undefined)?.xray?.['sampling_rule_name'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('centralized rules from the daemon proxy: applied, reported, local fallback when gone, recovery', async (t) => {
  const daemon = await startUdpDaemon();
  const proxy = await startSamplingProxy();
  t.after(async () => {
    await daemon.close();
    await proxy.close();
  });
  proxy.rules = [
    samplingRule({ RuleName: 'health', Priority: 1, URLPath: '/status*', ReservoirSize: 0, FixedRate: 0 }),
    defaultRule({ FixedRate: 1 }),
  ];

  const app = await spawnApp({
    script: 'http-app.js',
    env: {
      AWS_XRAY_DAEMON_ADDRESS: `udp:${daemon.address} tcp:${proxy.address}`,
      AWS_XRAY_TRACING_NAME: 'orders-api',
      AWS_XRAY_SAMPLING_RULES: LOCAL_ALWAYS,
      AWS_XRAY_SAMPLING_RULES_POLL_MS: '300',
      AWS_XRAY_SAMPLING_TARGETS_POLL_MS: '200',
      AWS_XRAY_SAMPLING_RULES_TTL_MS: String(RULES_TTL_MS),
      AWS_XRAY_LOG_LEVEL: 'info',
    },
  });
  t.after(() => app.stop());

  /** A request that must be answered, and quickly, whatever the proxy is doing. */
  const get = async (p: string) => {
    const t0 = performance.now();
    const res = await httpRequest(app.url(p), { timeoutMs: 3000 });
    const ms = performance.now() - t0;
    assert.equal(res.status, 200);
    assert.ok(ms < 500, `${p} took ${ms.toFixed(0)} ms`);
    return res;
  };

  // Lazy start: the agent connects to the proxy only once it has a request to decide on.
  await sleep(400);
  assert.equal(proxy.requests.length, 0, 'no connection before the first request');
  await get('/hello');
  await proxy.waitFor(() => proxy.rulesRequests().length >= 1, 5000);

  // Once the rules arrive, /hello is sampled by Default (rate 1).
  await waitUntil(async () => {
    await get('/hello');
    return daemon.segments().some((d) => pathOf(d) === '/hello' && ruleOf(d) === 'Default');
  }, 'a /hello segment sampled by the Default rule');

  // health (FixedRate 0, no reservoir) keeps /status out; Default still samples /hello.
  daemon.clear();
  for (let i = 0; i < 5; i++) await get('/status?code=200');
  await get('/hello');
  const docs = await daemon.waitFor((ds) => ds.some((d) => isSegment(d) && pathOf(d) === '/hello'));
  await sleep(200); // anything the /status requests produced was sent before the /hello segment
  const hello = docs.find((d) => isSegment(d) && pathOf(d) === '/hello')!;
  const xray = (hello.aws as { xray: Record<string, unknown> }).xray;
  assert.equal(xray['sampling_rule_name'], 'Default');
  assert.equal(xray['rule_name'], 'Default');
  assert.deepEqual(daemon.segments().filter((d) => pathOf(d) === '/status'), [], '/status requests are not traced');

  // Statistics reach the proxy: the five /status requests under health, none sampled.
  await proxy.waitFor(() => sum('health', 'RequestCount') >= 5 && sum('Default', 'RequestCount') >= 1, 5000);
  assert.equal(sum('health', 'SampledCount'), 0);
  assert.ok(proxy.statistics.every((s) => /^[0-9a-f]{24}$/.test(s.ClientID) && s.ClientID === proxy.statistics[0]!.ClientID));
  assert.ok(proxy.statistics.every((s) => Number.isInteger(s.Timestamp) && Math.abs(s.Timestamp - Date.now() / 1000) < 60));

  // The proxy hangs (polls wait for their 2 s timeout), then goes away. Requests keep being
  // answered at once; after the rules' TTL the local rules (trace everything, no rule name) take
  // over, so /status is traced again.
  proxy.mode = 'hang';
  const troubleAt = Date.now();
  while (Date.now() - troubleAt < 1000) {
    await get('/status?code=200');
    await get('/hello');
  }
  await proxy.stop();
  proxy.mode = 'normal';
  daemon.clear();
  await waitUntil(async () => {
    await get('/status?code=200');
    await get('/hello');
    await sleep(50);
    return daemon.segments().some((d) => pathOf(d) === '/status');
  }, 'a /status segment traced by the local fallback', 10_000);
  assert.ok(Date.now() - troubleAt >= RULES_TTL_MS - 500, 'fallback only once the cached rules expired');
  const fallback = daemon.segments().find((d) => pathOf(d) === '/status')!;
  assert.equal(ruleOf(fallback), undefined, 'local decisions carry no rule name');

  // The proxy comes back on the same port: rules and statistics flow again.
  proxy.requests.length = 0;
  proxy.statistics.length = 0;
  await proxy.restart();
  await waitUntil(async () => {
    await get('/hello');
    return proxy.statistics.length > 0;
  }, 'statistics after the restart');
  daemon.clear();
  await waitUntil(async () => {
    await get('/hello');
    return daemon.segments().some((d) => pathOf(d) === '/hello' && ruleOf(d) === 'Default');
  }, 'Default-sampled /hello after the restart');

  await app.stop();
  const stderr = app.stderr;
  const warnings = stderr.split('\n').filter((l) => l.includes('not reachable'));
  assert.equal(warnings.length, 1, `one warning for the outage:\n${stderr}`);
  assert.match(warnings[0]!, new RegExp(`daemon proxy at 127\\.0\\.0\\.1:${proxy.port} not reachable \\(POST /(GetSamplingRules|SamplingTargets): `));
  assert.match(stderr, /reachable again; using centralized rules/);

  function sum(rule: string, field: 'RequestCount' | 'SampledCount' | 'BorrowCount'): number {
    return proxy.statistics.filter((s) => s.RuleName === rule).reduce((n, s) => n + s[field], 0);
  }
});

/** Repeats `step` until it returns true; fails with `what` after `timeoutMs`. */
async function waitUntil(step: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await step()) return;
    await sleep(50);
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
