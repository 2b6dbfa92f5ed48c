// The poller and the proxy client against an in-process stand-in for the daemon's proxy
// (test/helpers/sampling-proxy): request shapes, pagination, quota assignment, early rule refresh,
// every failure mode falling back to local rules without blocking a decision, recovery, logging,
// the schedule with jitter, and that pollers never keep a process alive.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { log } from '../../agent/log';
import { CentralizedSampler } from '../../agent/sampling/centralized-sampler';
import { createSampler } from '../../agent/sampling/create-sampler';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT_MS, DaemonProxyClient } from '../../agent/sampling/daemon-proxy-client';
import { SamplingPoller, type TimerApi } from '../../agent/sampling/poller';
import type { Sampler, SamplingRequest } from '../../agent/sampling/types';
import { defaultRule, samplingRule, startSamplingProxy, type ProxyMode, type SamplingProxy } from '../helpers/sampling-proxy';

const T0 = 1_700_000_000_000;
const CID = '0123456789abcdef01234567';

function fakeClock(start = T0) {
  let t = start;
  return { now: () => t, add: (ms: number) => void (t += ms), set: (ms: number) => void (t = ms) };
}

/** Timers that only record what was scheduled; tests fire them by hand (or never). */
function manualTimers() {
  const pending: Array<{ fn: () => void; ms: number; cleared: boolean }> = [];
  const api: TimerApi = {
    setTimeout(fn, ms) {
      const h = { fn, ms, cleared: false };
      pending.push(h);
      return h;
    },
    clearTimeout(h) {
      if (h) (h as { cleared: boolean }).cleared = true;
    },
  };
  return { api, pending, live: () => pending.filter((p) => !p.cleared) };
}

function fakeLocal() {
  const calls: SamplingRequest[] = [];
  const sampler: Sampler = { decide: (req) => (calls.push(req), { sampled: true }) };
  return { sampler, calls };
}

interface Setup {
  proxy: SamplingProxy;
  clock: ReturnType<typeof fakeClock>;
  local: ReturnType<typeof fakeLocal>;
  sampler: CentralizedSampler;
  client: DaemonProxyClient;
  poller: SamplingPoller;
  timers: ReturnType<typeof manualTimers>;
}

async function setup(t: TestContext, opts: { timeoutMs?: number; maxRulePages?: number; random?: () => number } = {}): Promise<Setup> {
  const proxy = await startSamplingProxy();
  proxy.rules = [
    defaultRule({ FixedRate: 0, ReservoirSize: 1 }),
    samplingRule({ RuleName: 'health', Priority: 1, URLPath: '/health', FixedRate: 0, ReservoirSize: 0 }),
  ];
  const clock = fakeClock();
  const local = fakeLocal();
  const sampler = new CentralizedSampler({ local: local.sampler, now: clock.now, random: () => 0.5, clientId: CID });
  const client = new DaemonProxyClient({ host: '127.0.0.1', port: proxy.port }, { timeoutMs: opts.timeoutMs ?? 500 });
  const timers = manualTimers();
  const poller = new SamplingPoller(sampler, client, {
    now: clock.now,
    random: opts.random ?? (() => 0.5),
    timers: timers.api,
    ...(opts.maxRulePages ? { maxRulePages: opts.maxRulePages } : {}),
  });
  t.after(async () => {
    poller.stop();
    await proxy.close();
  });
  return { proxy, clock, local, sampler, client, poller, timers };
}

/** Silences and records the logger for one test. */
function captureLogs(t: TestContext) {
  return {
    warn: t.mock.method(log, 'warn', () => {}),
    info: t.mock.method(log, 'info', () => {}),
    debug: t.mock.method(log, 'debug', () => {}),
    once: t.mock.method(log, 'once', () => {}),
  };
}
const messages = (m: { mock: { calls: Array<{ arguments: unknown[] }> } }) => m.mock.calls.map((c) => String(c.arguments[0]));

test('client defaults: 2 s per request, 1 MiB body cap', () => {
  assert.equal(DEFAULT_TIMEOUT_MS, 2000);
  assert.equal(DEFAULT_MAX_BODY_BYTES, 1024 * 1024);
});

test('GetSamplingRules: POST {} with JSON content type; rules installed in order', async (t) => {
  captureLogs(t);
  const { proxy, poller, sampler } = await setup(t);
  assert.equal(await poller.pollRules(), true);
  const [req] = proxy.rulesRequests();
  assert.deepEqual(req, { method: 'POST', path: '/GetSamplingRules', contentType: 'application/json', body: {} });
  assert.deepEqual(sampler.ruleNames(), ['health', 'Default']);
  assert.equal(sampler.decide({ urlPath: '/health' }).sampled, false);
  assert.deepEqual(sampler.decide({ urlPath: '/x' }), { sampled: true, ruleName: 'Default' }, 'borrowed');
});

test('pagination: NextToken pages are followed; bounded, with one warning', async (t) => {
  const logs = captureLogs(t);
  const { proxy, poller, sampler } = await setup(t, { maxRulePages: 3 });
  proxy.rules = [defaultRule(), ...[5, 4, 3, 2, 1].map((p) => samplingRule({ RuleName: `r${p}`, Priority: p }))];
  proxy.pageSize = 2;
  assert.equal(await poller.pollRules(), true);
  assert.deepEqual(proxy.rulesRequests().map((r) => r.body), [{}, { NextToken: '2' }, { NextToken: '4' }]);
  assert.deepEqual(sampler.ruleNames(), ['r1', 'r2', 'r3', 'r4', 'r5', 'Default']);
  assert.equal(logs.once.mock.callCount(), 0);

  proxy.requests.length = 0;
  proxy.pageSize = 1;
  assert.equal(await poller.pollRules(), true);
  assert.equal(proxy.rulesRequests().length, 3, 'stops after maxRulePages');
  assert.deepEqual(sampler.ruleNames(), ['r4', 'r5', 'Default'], 'the rules of the first 3 pages');
  assert.equal(logs.once.mock.callCount(), 1);
  assert.match(String(logs.once.mock.calls[0]!.arguments[2]), /^centralized sampling: more than 3 pages of sampling rules/);
});

test('rules the agent cannot honour are ignored (logged once at info), the others used', async (t) => {
  const logs = captureLogs(t);
  const { proxy, poller, sampler } = await setup(t);
  proxy.rules.push(samplingRule({ RuleName: 'attrs', Priority: 2, Attributes: { k: 'v' } }), samplingRule({ RuleName: 'v2', Version: 2 }));
  await poller.pollRules();
  assert.deepEqual(sampler.ruleNames(), ['health', 'Default']);
  const dropped = logs.once.mock.calls.map((c) => [c.arguments[1], c.arguments[2]]);
  assert.deepEqual(dropped, [
    ['info', 'centralized sampling: rule "attrs" ignored: Attributes are not supported (rules with attributes are dropped)'],
    ['info', 'centralized sampling: rule "v2" ignored: unsupported Version 2 (only 1 is supported)'],
  ]);
});

test('SamplingTargets: statistics sent with this client id; quota, TTL (seconds) and rate applied', async (t) => {
  captureLogs(t);
  const { proxy, poller, sampler, clock } = await setup(t);
  await poller.pollRules();
  await poller.pollTargets();
  assert.equal(proxy.targetsRequests().length, 0, 'nothing to report: no call');

  for (let i = 0; i < 5; i++) sampler.decide({ urlPath: '/x' });
  sampler.decide({ urlPath: '/health' });
  proxy.targets.set('Default', { FixedRate: 0, ReservoirQuota: 4, ReservoirQuotaTTL: T0 / 1000 + 30, Interval: 10 });
  clock.add(2500);
  await poller.pollTargets();
  const [req] = proxy.targetsRequests();
  assert.equal(req!.contentType, 'application/json');
  assert.deepEqual(req!.body, {
    SamplingStatisticsDocuments: [
      { RuleName: 'health', ClientID: CID, RequestCount: 1, SampledCount: 0, BorrowCount: 0, Timestamp: T0 / 1000 + 2 },
      { RuleName: 'Default', ClientID: CID, RequestCount: 5, SampledCount: 1, BorrowCount: 1, Timestamp: T0 / 1000 + 2 },
    ],
  });
  // The quota of 4 per second is now in force.
  clock.add(1000);
  let n = 0;
  for (let i = 0; i < 20; i++) if (sampler.decide({ urlPath: '/x' }).sampled) n++;
  assert.equal(n, 4);
  // Counters were reset by the report: the next one only has what happened since.
  clock.add(10_000);
  await poller.pollTargets();
  assert.deepEqual(
    proxy.statistics.slice(2).map((d) => [d.RuleName, d.RequestCount, d.SampledCount, d.BorrowCount]),
    [['Default', 20, 4, 0]],
  );
});

test('UnprocessedStatistics: logged once per rule and error code', async (t) => {
  const logs = captureLogs(t);
  const { proxy, poller, sampler } = await setup(t);
  await poller.pollRules();
  proxy.unprocessed = [{ RuleName: 'Default', ErrorCode: '400', Message: 'bad stats' }];
  for (let round = 0; round < 2; round++) {
    sampler.decide({});
    await poller.pollTargets();
  }
  const calls = logs.once.mock.calls.map((c) => c.arguments.slice(0, 3));
  assert.deepEqual(calls, [
    ['centralized.unprocessed.Default.400', 'warn', 'centralized sampling: statistics for rule "Default" not processed (400: bad stats)'],
    ['centralized.unprocessed.Default.400', 'warn', 'centralized sampling: statistics for rule "Default" not processed (400: bad stats)'],
  ], 'the same key both times: log.once prints it once');
});

test('LastRuleModification newer than the last fetch triggers one early rule fetch', async (t) => {
  captureLogs(t);
  const { proxy, poller, sampler, clock } = await setup(t);
  await poller.pollRules();
  const report = async () => {
    sampler.decide({});
    clock.add(10_000);
    await poller.pollTargets();
  };
  proxy.lastRuleModification = T0 / 1000 - 100; // older than our fetch
  await report();
  assert.equal(proxy.rulesRequests().length, 1);

  proxy.rules.push(samplingRule({ RuleName: 'fresh', Priority: 3, URLPath: '/fresh' }));
  proxy.lastRuleModification = (clock.now() + 1000) / 1000; // changed after our fetch
  await report();
  assert.equal(proxy.rulesRequests().length, 2, 'fetched again');
  assert.deepEqual(sampler.ruleNames(), ['health', 'fresh', 'Default']);

  // A modification time ahead of our clock (skew) refreshes once, not on every report.
  proxy.lastRuleModification = (clock.now() + 3_600_000) / 1000;
  await report();
  await report();
  await report();
  assert.equal(proxy.rulesRequests().length, 3);
});

const FAILURES: Array<[ProxyMode | 'down', RegExp]> = [
  ['down', /POST \/GetSamplingRules: connect ECONNREFUSED 127\.0\.0\.1:\d+/],
  ['error', /POST \/GetSamplingRules: HTTP 500 "\{\\"__type\\":\\"InternalFailure\\"/],
  ['garbage', /POST \/GetSamplingRules: response is not JSON/],
  ['wrong-shape', /GetSamplingRules: SamplingRuleRecords is a string, not an array/],
  ['huge', /POST \/GetSamplingRules: HTTP 200 response is over the 1048576-byte limit/],
  ['huge-declared', /POST \/GetSamplingRules: HTTP 200 response of \d+ bytes is over the 1048576-byte limit/],
  ['hang', /POST \/GetSamplingRules: no complete answer within 300 ms/],
];

for (const [mode, reason] of FAILURES) {
  test(`proxy ${mode}: local rules decide, decide() never waits, one warning naming the cause`, async (t) => {
    const logs = captureLogs(t);
    const { proxy, poller, sampler, local } = await setup(t, { timeoutMs: 300 });
    if (mode === 'down') await proxy.stop();
    else proxy.mode = mode;

    const fetching = poller.pollRules();
    // While the fetch is in flight (for 'hang': the whole 300 ms), decisions are made
    // synchronously from the local rules (decide() returns a value, never a promise).
    for (let i = 0; i < 1000; i++) assert.equal(typeof sampler.decide({ urlPath: '/x' }).sampled, 'boolean');
    assert.equal(local.calls.length, 1000, 'all decided by the local rules');

    assert.equal(await fetching, false);
    assert.equal(sampler.hasFreshRules(), false);
    assert.equal(logs.warn.mock.callCount(), 1);
    const msg = messages(logs.warn)[0]!;
    assert.match(msg, new RegExp(`^centralized sampling: daemon proxy at 127\\.0\\.0\\.1:${proxy.port} not reachable \\(`));
    assert.match(msg, reason);
    assert.match(msg, /\); using local rules$/);

    // Later failures: debug only.
    await poller.pollRules();
    assert.equal(logs.warn.mock.callCount(), 1);
    assert.ok(messages(logs.debug).some((m) => m.includes('not reachable')));
  });
}

test('recovery: the proxy comes back, centralized rules return (info logged); a short outage keeps the cached rules', async (t) => {
  const logs = captureLogs(t);
  const { proxy, poller, sampler, local, clock } = await setup(t);
  await proxy.stop();
  assert.equal(await poller.pollRules(), false);
  sampler.decide({ urlPath: '/x' });
  assert.equal(local.calls.length, 1);

  await proxy.restart();
  assert.equal(await poller.pollRules(), true);
  assert.deepEqual(messages(logs.info), [`centralized sampling: daemon proxy at 127.0.0.1:${proxy.port} reachable again; using centralized rules`]);
  assert.equal(sampler.decide({ urlPath: '/x' }).ruleName, 'Default');

  // Down again: within the rules' TTL the cached rules keep deciding, and the warning says so
  // (only the first failure warns; this one is at debug).
  proxy.mode = 'error';
  clock.add(60_000);
  assert.equal(await poller.pollRules(), false);
  assert.match(messages(logs.debug).at(-1)!, /using local rules when the last fetched rules expire \(in 3540 s\)$/);
  assert.equal(sampler.decide({ urlPath: '/health' }).sampled, false, 'cached rule still applies');
  clock.add(3_540_000);
  sampler.decide({ urlPath: '/health' });
  assert.equal(local.calls.length, 2, 'expired: local rules');
  proxy.mode = 'normal';
  assert.equal(await poller.pollRules(), true);
  assert.equal(sampler.decide({ urlPath: '/health' }).sampled, false);
  assert.equal(logs.info.mock.callCount(), 2);
});

test('a failed targets call loses that snapshot (no double counting) and the next one reports afresh', async (t) => {
  captureLogs(t);
  const { proxy, poller, sampler } = await setup(t);
  await poller.pollRules();
  sampler.decide({});
  proxy.targetsMode = 'error';
  await poller.pollTargets();
  assert.equal(proxy.targetsRequests().length, 1);
  proxy.targetsMode = undefined;
  sampler.decide({});
  await poller.pollTargets();
  const counts = proxy.targetsRequests().map((r) => (r.body as { SamplingStatisticsDocuments: Array<{ RequestCount: number }> }).SamplingStatisticsDocuments[0]!.RequestCount);
  assert.deepEqual(counts, [1, 1]);
});

test('schedule: nothing before start(); rules at once, then 300 s + 0–5 s; targets every 10 s + 0–100 ms', async (t) => {
  captureLogs(t);
  const { proxy, poller, timers } = await setup(t, { random: () => 0.999 });
  assert.equal(timers.pending.length, 0);
  poller.start();
  poller.start(); // idempotent
  const [rules, targets] = timers.live();
  assert.equal(timers.live().length, 2);
  assert.equal(rules!.ms, 0, 'first rule fetch immediately (on a timer, not inside decide)');
  assert.ok(targets!.ms >= 10_000 && targets!.ms < 10_100, `targets delay ${targets!.ms}`);
  assert.equal(proxy.requests.length, 0, 'no I/O until the timer fires');

  rules!.fn();
  await proxy.waitFor(() => proxy.rulesRequests().length === 1);
  // The next fetch is scheduled once this one settled.
  await new Promise((r) => setTimeout(r, 50));
  const next = timers.live().filter((p) => p !== targets);
  assert.equal(next.length, 1);
  assert.ok(next[0]!.ms >= 300_000 && next[0]!.ms < 305_000, `rules delay ${next[0]!.ms}`);

  poller.stop();
  assert.equal(timers.live().length, 0, 'stop clears every timer');
});

test('early-stopped poller: a late answer is ignored and nothing is logged', async (t) => {
  const logs = captureLogs(t);
  const { proxy, poller, sampler } = await setup(t, { timeoutMs: 2000 });
  proxy.mode = 'hang';
  const pending = poller.pollRules();
  await proxy.waitFor(() => proxy.requests.length === 1);
  poller.stop();
  assert.equal(await pending, false);
  assert.equal(sampler.hasFreshRules(), false);
  assert.equal(logs.warn.mock.callCount(), 0);
});

test('createSampler: local only when centralized sampling is off; lazy start and real polling when on', async (t) => {
  captureLogs(t);
  const proxy = await startSamplingProxy();
  t.after(() => proxy.close());
  proxy.rules = [defaultRule({ FixedRate: 1, ReservoirSize: 0 })];
  const base = {
    samplingRules: { version: 2, default: { fixed_target: 0, rate: 1 } },
    daemon: { udp: { host: '127.0.0.1', port: 2000 }, tcp: { host: '127.0.0.1', port: proxy.port } },
    samplingRulesPollMs: 100,
    samplingTargetsPollMs: 100,
    samplingRulesTtlMs: 3_600_000,
  };
  const off = createSampler({ ...base, centralizedSampling: false });
  assert.ok(!(off instanceof CentralizedSampler));
  off.decide({});

  const on = createSampler({ ...base, centralizedSampling: true });
  t.after(() => on.close?.());
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(proxy.requests.length, 0, 'no connection before the first decision');
  assert.deepEqual(on.decide({}), { sampled: true }, 'first decision: local rules');
  await proxy.waitFor(() => proxy.rulesRequests().length >= 1);
  await proxy.waitFor(() => on.decide({}).ruleName === 'Default', 2000);
  await proxy.waitFor(() => proxy.statistics.length >= 1, 2000);
  await proxy.waitFor(() => proxy.rulesRequests().length >= 2, 2000);
  on.close?.();
  // A request already on the wire when close() ran may still be recorded by the proxy.
  await new Promise((r) => setTimeout(r, 50));
  const seen = proxy.requests.length;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(proxy.requests.length, seen, 'close() stops polling');
});

test('pollers never keep a process alive, even with a request hanging', async (t) => {
  const proxy = await startSamplingProxy();
  t.after(() => proxy.close());
  proxy.mode = 'hang';
  const dist = path.resolve(__dirname, '..', '..');
  const script = `
    const { createSampler } = require(${JSON.stringify(path.join(dist, 'agent/sampling/create-sampler.js'))});
    const s = createSampler({ samplingRules: undefined, centralizedSampling: true,
      daemon: { udp: { host: '127.0.0.1', port: 2000 }, tcp: { host: '127.0.0.1', port: ${proxy.port} } },
      samplingRulesPollMs: 100, samplingTargetsPollMs: 100, samplingRulesTtlMs: 3600000 });
    s.decide({});
    setTimeout(() => { s.decide({}); process.stdout.write('done\\n'); }, 300);
  `;
  const t0 = performance.now();
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const elapsed = performance.now() - t0;
  assert.equal(code, 0);
  assert.equal(out, 'done\n');
  await proxy.waitFor(() => proxy.rulesRequests().length >= 1);
  // Exits right after its own 300 ms timer: neither the hanging request (2 s timeout) nor the
  // poll timers hold it.
  assert.ok(elapsed < 1800, `exited after ${elapsed.toFixed(0)} ms`);
});
