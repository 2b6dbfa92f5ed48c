import { test, mock, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { log } from '../../agent/log';
import { createLocalSampler } from '../../agent/sampling/local-sampler';
import { Reservoir } from '../../agent/sampling/reservoir';

const dir = mkdtempSync(join(tmpdir(), 'xray-local-sampler-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A settable fake clock in milliseconds. */
function fakeClock(startMs = 1_700_000_000_000) {
  let t = startMs;
  return { now: () => t, set: (ms: number) => void (t = ms), add: (ms: number) => void (t += ms) };
}

/** Deterministic PRNG (mulberry32), uniform in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const never = () => 0.999999; // random() that never passes a rate < 1
const always = () => 0; // random() that passes any rate > 0

test('Reservoir: fixed budget per integer second, reset when the second changes', () => {
  const clock = fakeClock(5_000);
  const r = new Reservoir(2, clock.now);
  assert.equal(r.take(), true);
  assert.equal(r.take(), true);
  assert.equal(r.take(), false);
  clock.set(5_999);
  assert.equal(r.take(), false, 'still the same second (floor, not round)');
  assert.equal(r.takenIn(5_999), 2);
  clock.set(6_000);
  assert.equal(r.take(), true, 'new second');
  assert.equal(r.takenIn(6_000), 1);
  assert.equal(r.takenIn(7_000), 0);
  // An explicit timestamp wins over the clock.
  assert.equal(r.take(9_000), true);
  // Clock stepping backwards also resets.
  clock.set(1_000);
  assert.equal(r.take(), true);
});

test('Reservoir: zero budget never samples and never reads the clock; budget is mutable', () => {
  let reads = 0;
  const r = new Reservoir(0, () => (reads++, 0));
  assert.equal(r.take(), false);
  assert.equal(reads, 0);
  r.perSecond = 1;
  assert.equal(r.take(), true);
  assert.equal(r.take(), false);
});

test('built-in default: first request of each second, then 5 %', () => {
  const clock = fakeClock();
  let rnd = 0.5;
  const s = createLocalSampler(undefined, { now: clock.now, random: () => rnd });
  for (let sec = 0; sec < 5; sec++) {
    assert.equal(s.decide({}).sampled, true, `first request of second ${sec}`);
    for (let i = 0; i < 10; i++) {
      clock.add(50);
      assert.equal(s.decide({}).sampled, false);
    }
    clock.add(1000 - 500);
  }
  // Past the reservoir, the 5 % rate decides: random() < 0.05.
  rnd = 0.049;
  assert.equal(s.decide({}).sampled, true); // reservoir of this second
  assert.equal(s.decide({}).sampled, true); // by rate
  rnd = 0.05;
  assert.equal(s.decide({}).sampled, false);
});

test('reservoir of 1/s with a fake clock: first request of each second sampled, rest by rate', () => {
  const clock = fakeClock(10_000);
  const s = createLocalSampler({ version: 2, default: { fixed_target: 1, rate: 0 } }, { now: clock.now, random: always });
  const sampledAt: number[] = [];
  for (let ms = 0; ms < 5_000; ms += 100) {
    clock.set(10_000 + ms);
    if (s.decide({ urlPath: '/' }).sampled) sampledAt.push(ms);
  }
  assert.deepEqual(sampledAt, [0, 1000, 2000, 3000, 4000]);
});

test('fixed_target 3: three per second, then the rate', () => {
  const clock = fakeClock(0);
  const s = createLocalSampler({ version: 2, default: { fixed_target: 3, rate: 0.5 } }, { now: clock.now, random: never });
  const results = Array.from({ length: 5 }, () => s.decide({}).sampled);
  assert.deepEqual(results, [true, true, true, false, false]);
  clock.set(999);
  assert.equal(s.decide({}).sampled, false);
  clock.set(1000);
  assert.equal(s.decide({}).sampled, true);
});

test('rate 0 with fixed_target 0 never samples; rate 1 always samples', () => {
  const rnd = prng(1);
  const none = createLocalSampler({ version: 2, default: { fixed_target: 0, rate: 0 } }, { random: rnd });
  const all = createLocalSampler({ version: 2, default: { fixed_target: 0, rate: 1 } }, { random: rnd });
  let a = 0;
  let b = 0;
  for (let i = 0; i < 10_000; i++) {
    if (none.decide({}).sampled) a++;
    if (all.decide({}).sampled) b++;
  }
  assert.equal(a, 0);
  assert.equal(b, 10_000);
  // Edge values of random(): 0 passes any positive rate, never rate 0.
  assert.equal(createLocalSampler({ version: 2, default: { fixed_target: 0, rate: 0 } }, { random: always }).decide({}).sampled, false);
  assert.equal(createLocalSampler({ version: 2, default: { fixed_target: 0, rate: 1 } }, { random: never }).decide({}).sampled, true);
});

test('rate 0.05 samples about 5 % (seeded random, deterministic)', () => {
  const s = createLocalSampler({ version: 2, default: { fixed_target: 0, rate: 0.05 } }, { random: prng(42) });
  const n = 200_000;
  let sampled = 0;
  for (let i = 0; i < n; i++) if (s.decide({ method: 'GET', urlPath: '/x' }).sampled) sampled++;
  // Expected 10 000, σ ≈ 97; the seed makes this exact run reproducible, the bound is ±5σ anyway.
  assert.ok(Math.abs(sampled - 10_000) < 500, `sampled ${sampled} of ${n}`);
});

const rules = {
  version: 2,
  rules: [
    { host: '*', http_method: '*', url_path: '/api/*', fixed_target: 0, rate: 1 },
    { host: '*', http_method: '*', url_path: '/api/health', fixed_target: 0, rate: 0 },
    { host: 'admin.example.com', http_method: 'POST', url_path: '*', fixed_target: 0, rate: 1 },
  ],
  default: { fixed_target: 0, rate: 0 },
};

test('first matching rule in file order wins; default last', () => {
  const s = createLocalSampler(rules, { random: () => 0.5 });
  // Rule 0 (rate 1) shadows rule 1 (rate 0) for /api/health.
  assert.equal(s.decide({ host: 'x', method: 'GET', urlPath: '/api/health' }).sampled, true);
  assert.equal(s.decide({ host: 'x', method: 'GET', urlPath: '/api/users' }).sampled, true);
  // Rule 2: host and method must both match (case-insensitively).
  assert.equal(s.decide({ host: 'ADMIN.example.com', method: 'post', urlPath: '/login' }).sampled, true);
  assert.equal(s.decide({ host: 'admin.example.com', method: 'GET', urlPath: '/login' }).sampled, false);
  assert.equal(s.decide({ host: 'www.example.com', method: 'POST', urlPath: '/login' }).sampled, false);
  // Default (rate 0).
  assert.equal(s.decide({ host: 'x', method: 'GET', urlPath: '/other' }).sampled, false);
});

test('reversed order: the more specific rule first now wins', () => {
  const reversed = { ...rules, rules: [rules.rules[1], rules.rules[0]] };
  const s = createLocalSampler(reversed, { random: () => 0.5 });
  assert.equal(s.decide({ urlPath: '/api/health' }).sampled, false);
  assert.equal(s.decide({ urlPath: '/api/users' }).sampled, true);
});

test('missing or empty request attributes match any rule pattern', () => {
  const s = createLocalSampler(
    { version: 2, rules: [{ host: 'only.this', http_method: 'DELETE', url_path: '/exact', fixed_target: 0, rate: 1 }], default: { fixed_target: 0, rate: 0 } },
    { random: () => 0.5 },
  );
  assert.equal(s.decide({}).sampled, true);
  assert.equal(s.decide({ host: '', method: '', urlPath: '' }).sampled, true);
  assert.equal(s.decide({ urlPath: '/exact' }).sampled, true);
  assert.equal(s.decide({ urlPath: '/other' }).sampled, false);
});

test('each rule has its own reservoir', () => {
  const clock = fakeClock(0);
  const s = createLocalSampler(
    {
      version: 2,
      rules: [
        { host: '*', http_method: '*', url_path: '/a', fixed_target: 1, rate: 0 },
        { host: '*', http_method: '*', url_path: '/b', fixed_target: 1, rate: 0 },
      ],
      default: { fixed_target: 1, rate: 0 },
    },
    { now: clock.now, random: always },
  );
  for (const p of ['/a', '/b', '/c']) {
    assert.equal(s.decide({ urlPath: p }).sampled, true, p);
    assert.equal(s.decide({ urlPath: p }).sampled, false, p);
  }
});

test('version 1 service_name matches the host', () => {
  const s = createLocalSampler(
    { version: 1, rules: [{ service_name: '*.internal', http_method: '*', url_path: '*', fixed_target: 0, rate: 1 }], default: { fixed_target: 0, rate: 0 } },
    { random: () => 0.5 },
  );
  assert.equal(s.decide({ host: 'db.internal' }).sampled, true);
  assert.equal(s.decide({ host: 'example.com' }).sampled, false);
  // serviceName is not a local-rule attribute.
  assert.equal(s.decide({ host: 'example.com', serviceName: 'db.internal' }).sampled, false);
});

test('decisions carry no ruleName and are shared frozen objects (no allocation per decision)', () => {
  const s = createLocalSampler({ version: 2, default: { fixed_target: 0, rate: 1 } });
  const a = s.decide({});
  const b = s.decide({ urlPath: '/x' });
  assert.equal(a, b);
  assert.equal(a.ruleName, undefined);
  assert.ok(!('ruleName' in a));
  assert.ok(Object.isFrozen(a));
  assert.equal(s.close, undefined);
});

test('file path and inline JSON sources', () => {
  const file = join(dir, 'rules.json');
  writeFileSync(file, JSON.stringify({ version: 2, default: { fixed_target: 0, rate: 1 } }));
  assert.equal(createLocalSampler(file, { random: never }).decide({}).sampled, true);
  const inline = JSON.stringify({ version: 2, default: { fixed_target: 0, rate: 0 } });
  assert.equal(createLocalSampler(inline, { random: always }).decide({}).sampled, false);
});

test('invalid source: one error line naming the source and reason, then the built-in default', (t) => {
  const errors = t.mock.method(log, 'error', () => {});
  const clock = fakeClock(0);
  const file = join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ version: 2, rules: [{ host: '*', http_method: '*', url_path: '*', fixed_target: 0, rate: 7 }], default: { fixed_target: 0, rate: 1 } }));
  const s = createLocalSampler(file, { now: clock.now, random: () => 0.5 });
  assert.equal(errors.mock.callCount(), 1);
  const msg = errors.mock.calls[0]!.arguments[0] as string;
  assert.match(msg, new RegExp(`^sampling rules file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: rules\\[0\\]\\.rate: must be a number from 0 to 1 \\(got 7\\); using the built-in sampling default`));
  assert.doesNotMatch(msg, /\n/);
  // Built-in default: 1/s, then 5 % (0.5 fails).
  assert.equal(s.decide({}).sampled, true);
  assert.equal(s.decide({}).sampled, false);
  // Deciding logs nothing more.
  assert.equal(errors.mock.callCount(), 1);

  createLocalSampler('{not json', { now: clock.now });
  assert.equal(errors.mock.callCount(), 2);
  assert.match(errors.mock.calls[1]!.arguments[0] as string, /^inline sampling rules: invalid JSON: /);
});

test('no source (undefined or empty string): built-in default, nothing logged', () => {
  const errors = mock.method(log, 'error', () => {});
  try {
    const clock = fakeClock(0);
    for (const src of [undefined, '', '  ']) {
      const s = createLocalSampler(src, { now: clock.now, random: never });
      assert.equal(s.decide({}).sampled, true);
      assert.equal(s.decide({}).sampled, false);
    }
    assert.equal(errors.mock.callCount(), 0);
  } finally {
    errors.mock.restore();
  }
});
