// The centralized sampler's decisions and statistics (spec §4.4), with a fake clock and fake
// random numbers: borrowing, quotas and their TTL in seconds, fixed rate, quota 0, statistics
// documents and their reset, rule refresh keeping state, and the local fallback.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRuleRecords } from '../../agent/sampling/centralized-rules';
import { CentralizedSampler } from '../../agent/sampling/centralized-sampler';
import type { Sampler, SamplingDecision, SamplingRequest } from '../../agent/sampling/types';
import { defaultRule, samplingRule, type SamplingRuleWire } from '../helpers/sampling-proxy';

const T0 = 1_700_000_000_000; // ms, on a second boundary

function fakeClock(start = T0) {
  let t = start;
  return { now: () => t, set: (ms: number) => void (t = ms), add: (ms: number) => void (t += ms) };
}

/** random() returning a settable value. */
function fakeRandom(v = 0.999999) {
  let value = v;
  return { random: () => value, set: (x: number) => void (value = x) };
}

/** A local sampler that records its calls and answers a fixed decision. */
function fakeLocal(sampled = true) {
  const calls: SamplingRequest[] = [];
  const sampler: Sampler = {
    decide(req) {
      calls.push(req);
      return { sampled };
    },
  };
  return { sampler, calls };
}

function rules(...wire: SamplingRuleWire[]) {
  return parseRuleRecords(wire.map((SamplingRule) => ({ SamplingRule }))).rules;
}

function setup(wire: SamplingRuleWire[], opts: { rulesTtlMs?: number } = {}) {
  const clock = fakeClock();
  const rnd = fakeRandom();
  const local = fakeLocal();
  const sampler = new CentralizedSampler({
    local: local.sampler,
    now: clock.now,
    random: rnd.random,
    clientId: '0123456789abcdef01234567',
    ...opts,
  });
  sampler.setRules(rules(...wire), clock.now());
  return { clock, rnd, local, sampler };
}

const count = (ds: SamplingDecision[]) => ds.filter((d) => d.sampled).length;
const decideN = (s: Sampler, n: number, req: SamplingRequest = {}) => Array.from({ length: n }, () => s.decide(req));

test('before any rules: every decision goes to the local sampler; first decide fires the lazy start once', () => {
  const local = fakeLocal(true);
  let starts = 0;
  const sampler = new CentralizedSampler({ local: local.sampler, onFirstDecide: () => starts++ });
  assert.equal(starts, 0, 'nothing starts at construction');
  const d = sampler.decide({ urlPath: '/x' });
  assert.deepEqual(d, { sampled: true });
  sampler.decide({ urlPath: '/y' });
  assert.equal(starts, 1);
  assert.equal(local.calls.length, 2);
  assert.match(sampler.clientId, /^[0-9a-f]{24}$/);
  assert.equal(sampler.clientId, sampler.clientId, 'one client id for the sampler\'s whole life');
  assert.notEqual(new CentralizedSampler({ local: local.sampler }).clientId, sampler.clientId);
});

test('a throwing lazy start never reaches the request; the local sampler still decides', () => {
  const local = fakeLocal(true);
  const sampler = new CentralizedSampler({
    local: local.sampler,
    onFirstDecide: () => {
      throw new Error('boom');
    },
  });
  assert.deepEqual(sampler.decide({}), { sampled: true });
});

test('rule order decides which rule applies; sampled decisions carry the rule name', () => {
  const { sampler, rnd } = setup([
    defaultRule({ FixedRate: 1, ReservoirSize: 0 }),
    samplingRule({ RuleName: 'api', Priority: 5, URLPath: '/api/*', FixedRate: 1, ReservoirSize: 0 }),
    samplingRule({ RuleName: 'api-b', Priority: 5, URLPath: '/api/*', FixedRate: 1, ReservoirSize: 0 }),
    samplingRule({ RuleName: 'health', Priority: 1, URLPath: '/health', FixedRate: 0, ReservoirSize: 0 }),
  ]);
  rnd.set(0.5);
  assert.deepEqual(sampler.ruleNames(), ['health', 'api', 'api-b', 'Default']);
  assert.deepEqual(sampler.decide({ urlPath: '/health' }), { sampled: false });
  assert.deepEqual(sampler.decide({ urlPath: '/api/x' }), { sampled: true, ruleName: 'api' }, 'tie on priority: name order');
  assert.deepEqual(sampler.decide({ urlPath: '/other' }), { sampled: true, ruleName: 'Default' });
  // Shared frozen answers: no allocation per decision.
  assert.equal(sampler.decide({ urlPath: '/other' }), sampler.decide({ urlPath: '/x' }));
  assert.ok(Object.isFrozen(sampler.decide({ urlPath: '/x' })));
});

test('borrowing: at most one request per second before any quota, only when ReservoirSize > 0', () => {
  const { sampler, clock } = setup([defaultRule({ FixedRate: 0, ReservoirSize: 5 })]);
  assert.equal(count(decideN(sampler, 10)), 1);
  clock.add(999);
  assert.equal(count(decideN(sampler, 10)), 0, 'same second (floor of epoch seconds)');
  clock.add(1);
  assert.equal(count(decideN(sampler, 10)), 1, 'a new second: one more borrow');
  clock.add(500);
  assert.equal(count(decideN(sampler, 10)), 0, 'same second as the last borrow');
  const stats = sampler.snapshotStatistics(clock.now());
  assert.deepEqual(stats.map(({ RequestCount, SampledCount, BorrowCount }) => ({ RequestCount, SampledCount, BorrowCount })), [
    // A borrowed request counts in BorrowCount AND SampledCount (spec §10.9).
    { RequestCount: 40, SampledCount: 2, BorrowCount: 2 },
  ]);

  const noBorrow = setup([defaultRule({ FixedRate: 0, ReservoirSize: 0 })]);
  assert.equal(count(decideN(noBorrow.sampler, 10)), 0);
});

test('quota: N per second once assigned, no borrowing on top; then the rate', () => {
  const { sampler, clock, rnd } = setup([defaultRule({ FixedRate: 0, ReservoirSize: 50 })]);
  const ttl = T0 / 1000 + 60; // epoch SECONDS
  assert.equal(sampler.applyTargets([{ ruleName: 'Default', fixedRate: 0, reservoirQuota: 3, reservoirQuotaTtl: ttl }]), 1);
  for (let s = 0; s < 3; s++) {
    assert.equal(count(decideN(sampler, 20)), 3, `second ${s}`);
    clock.add(1000);
  }
  // Beyond the quota, the rate still applies.
  sampler.applyTargets([{ ruleName: 'Default', fixedRate: 0.5 }]);
  rnd.set(0.4);
  assert.equal(count(decideN(sampler, 10)), 10);
  rnd.set(0.6);
  assert.equal(count(decideN(sampler, 10)), 0, 'quota was used by the first 3 of this second');
  const [doc] = sampler.snapshotStatistics(clock.now());
  assert.equal(doc!.BorrowCount, 0, 'no borrowing while a quota is valid');
  assert.equal(doc!.SampledCount, 9 + 10);
});

test('quota TTL is in epoch seconds; once expired, borrowing takes over again', () => {
  const { sampler, clock } = setup([defaultRule({ FixedRate: 0, ReservoirSize: 50 })]);
  // A TTL read as milliseconds (the Node SDK bug) would be long expired: 1.7e9 ms is January 1970.
  const ttlSec = T0 / 1000 + 10;
  sampler.applyTargets([{ ruleName: 'Default', fixedRate: 0, reservoirQuota: 5, reservoirQuotaTtl: ttlSec }]);
  assert.equal(count(decideN(sampler, 20)), 5);
  clock.set(ttlSec * 1000 - 1);
  assert.equal(count(decideN(sampler, 20)), 5, 'last millisecond of the quota');
  clock.set(ttlSec * 1000);
  assert.equal(count(decideN(sampler, 20)), 1, 'expired: borrow one per second');
  // Fractional TTLs are honoured to the millisecond.
  sampler.applyTargets([{ ruleName: 'Default', fixedRate: 0, reservoirQuota: 2, reservoirQuotaTtl: ttlSec + 1.5 }]);
  clock.set(ttlSec * 1000 + 1000);
  assert.equal(count(decideN(sampler, 20)), 2);
  clock.set(ttlSec * 1000 + 1499);
  assert.equal(count(decideN(sampler, 20)), 0, 'same second, quota used');
  clock.set(ttlSec * 1000 + 2000);
  assert.equal(count(decideN(sampler, 20)), 1, 'TTL passed at +1.5 s: borrowing');
});

test('a quota without a TTL is not usable (borrowing continues), like the SDKs', () => {
  const { sampler } = setup([defaultRule({ FixedRate: 0, ReservoirSize: 1 })]);
  sampler.applyTargets([{ ruleName: 'Default', fixedRate: 0, reservoirQuota: 10 }]);
  assert.equal(count(decideN(sampler, 20)), 1);
});

test('quota 0 is a real quota: nothing from the reservoir, no borrowing, only the rate', () => {
  const { sampler, rnd } = setup([defaultRule({ FixedRate: 0, ReservoirSize: 5 })]);
  sampler.applyTargets([{ ruleName: 'Default', fixedRate: 0, reservoirQuota: 0, reservoirQuotaTtl: T0 / 1000 + 60 }]);
  assert.equal(count(decideN(sampler, 20)), 0);
  sampler.applyTargets([{ ruleName: 'Default', fixedRate: 0.3 }]);
  rnd.set(0.29);
  assert.equal(count(decideN(sampler, 20)), 20);
  const [doc] = sampler.snapshotStatistics();
  assert.deepEqual([doc!.BorrowCount, doc!.SampledCount, doc!.RequestCount], [0, 20, 40]);
});

test('fixed rate: random() < rate samples; rate 0 never, rate 1 always', () => {
  const { sampler, rnd } = setup([defaultRule({ FixedRate: 0.25, ReservoirSize: 0 })]);
  rnd.set(0.2499);
  assert.equal(count(decideN(sampler, 5)), 5);
  rnd.set(0.25);
  assert.equal(count(decideN(sampler, 5)), 0);
  sampler.applyTargets([{ ruleName: 'Default', fixedRate: 1 }]);
  rnd.set(0.999999);
  assert.equal(count(decideN(sampler, 5)), 5);
  sampler.applyTargets([{ ruleName: 'Default', fixedRate: 0 }]);
  rnd.set(0);
  assert.equal(count(decideN(sampler, 5)), 0);
});

test('statistics documents: exact content, only rules with requests, counters reset after reporting', () => {
  const { sampler, clock, rnd } = setup([
    defaultRule({ FixedRate: 0, ReservoirSize: 1 }),
    samplingRule({ RuleName: 'api', Priority: 1, URLPath: '/api*', FixedRate: 1, ReservoirSize: 0 }),
    samplingRule({ RuleName: 'idle', Priority: 2, URLPath: '/idle', FixedRate: 1, ReservoirSize: 0 }),
  ]);
  rnd.set(0.5);
  decideN(sampler, 4, { urlPath: '/api/x' });
  decideN(sampler, 3, { urlPath: '/' });
  clock.add(1234);
  const docs = sampler.snapshotStatistics(clock.now());
  assert.deepEqual(docs, [
    { RuleName: 'api', ClientID: '0123456789abcdef01234567', RequestCount: 4, SampledCount: 4, BorrowCount: 0, Timestamp: T0 / 1000 + 1 },
    { RuleName: 'Default', ClientID: '0123456789abcdef01234567', RequestCount: 3, SampledCount: 1, BorrowCount: 1, Timestamp: T0 / 1000 + 1 },
  ]);
  assert.ok(Number.isInteger(docs[0]!.Timestamp), 'Timestamp in whole epoch seconds');
  assert.deepEqual(sampler.snapshotStatistics(clock.now()), [], 'counters were reset');
  decideN(sampler, 2, { urlPath: '/api' });
  assert.deepEqual(sampler.snapshotStatistics(clock.now()).map((d) => [d.RuleName, d.RequestCount]), [['api', 2]]);
});

test('the target Interval spaces out a rule\'s reports', () => {
  const { sampler, clock } = setup([defaultRule({ FixedRate: 1, ReservoirSize: 0 })]);
  sampler.decide({});
  sampler.snapshotStatistics(clock.now());
  sampler.applyTargets([{ ruleName: 'Default', fixedRate: 1, interval: 20 }]);
  clock.add(10_000);
  sampler.decide({});
  assert.equal(sampler.snapshotStatistics(clock.now(), 5000).length, 0, '10 s < 20 s interval');
  clock.add(10_050);
  assert.equal(sampler.snapshotStatistics(clock.now(), 5000).length, 1);
  // The slack lets a poll that fires slightly early still report.
  clock.add(19_990);
  sampler.decide({});
  assert.equal(sampler.snapshotStatistics(clock.now(), 5000).length, 1);
});

test('refreshing rules keeps counters, quota and borrow state of rules that keep their name', () => {
  const ROOT = { urlPath: '/' };
  const { sampler, clock } = setup([defaultRule({ FixedRate: 0, ReservoirSize: 1 }), samplingRule({ RuleName: 'gone', URLPath: '/gone' })]);
  sampler.applyTargets([{ ruleName: 'Default', fixedRate: 0, reservoirQuota: 2, reservoirQuotaTtl: T0 / 1000 + 60 }]);
  assert.equal(count(decideN(sampler, 5, ROOT)), 2);
  sampler.decide({ urlPath: '/gone' });
  // New rule set: Default changed its FixedRate; "gone" disappeared; "new" appeared.
  sampler.setRules(rules(defaultRule({ FixedRate: 0, ReservoirSize: 1 }), samplingRule({ RuleName: 'new', URLPath: '/new', FixedRate: 0, ReservoirSize: 0 })), clock.now());
  assert.equal(count(decideN(sampler, 5, ROOT)), 0, 'quota already used this second (state kept)');
  clock.add(1000);
  assert.equal(count(decideN(sampler, 5, ROOT)), 2, 'quota kept across the refresh');
  sampler.decide({ urlPath: '/new' });
  const docs = sampler.snapshotStatistics(clock.now());
  assert.deepEqual(docs.map((d) => [d.RuleName, d.RequestCount, d.SampledCount]), [['new', 1, 0], ['Default', 15, 4]]);
  assert.equal(sampler.lastRuleFetchMs, clock.now() - 1000);
});

test('targets for unknown rules are ignored', () => {
  const { sampler } = setup([defaultRule()]);
  assert.equal(sampler.applyTargets([{ ruleName: 'nope', fixedRate: 1 }]), 0);
});

test('rules expire after the TTL: local rules decide; fresh rules bring the centralized ones back', () => {
  const { sampler, clock, local, rnd } = setup([defaultRule({ FixedRate: 1, ReservoirSize: 0 })], { rulesTtlMs: 3_600_000 });
  rnd.set(0.5);
  assert.deepEqual(sampler.decide({}), { sampled: true, ruleName: 'Default' });
  clock.add(3_600_000 - 1);
  assert.equal(sampler.hasFreshRules(), true);
  assert.equal(sampler.decide({}).ruleName, 'Default');
  assert.equal(local.calls.length, 0);
  clock.add(1);
  assert.equal(sampler.hasFreshRules(), false);
  assert.deepEqual(sampler.decide({ urlPath: '/a' }), { sampled: true }, 'local decision: no rule name');
  assert.equal(local.calls.length, 1);
  sampler.setRules(rules(defaultRule({ FixedRate: 1 })), clock.now());
  assert.equal(sampler.decide({}).ruleName, 'Default');
});

test('no rule matches (no Default sent): the local sampler decides', () => {
  const { sampler, local } = setup([samplingRule({ RuleName: 'only', URLPath: '/only', FixedRate: 1 })]);
  sampler.decide({ urlPath: '/else' });
  assert.equal(local.calls.length, 1);
});

test('close() runs the stop hook and closes the local sampler', () => {
  let stopped = 0;
  let localClosed = 0;
  const sampler = new CentralizedSampler({
    local: { decide: () => ({ sampled: false }), close: () => localClosed++ },
    onClose: () => stopped++,
    onFirstDecide: () => assert.fail('must not start after close'),
  });
  sampler.close();
  sampler.decide({});
  assert.deepEqual([stopped, localClosed], [1, 1]);
});
