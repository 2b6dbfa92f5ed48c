import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchAttribute, wildcardMatch } from '../../agent/sampling/wildcard';

test('literal patterns match the whole text, case-insensitively', () => {
  assert.equal(wildcardMatch('GET', 'GET'), true);
  assert.equal(wildcardMatch('GET', 'get'), true);
  assert.equal(wildcardMatch('get', 'GeT'), true);
  assert.equal(wildcardMatch('/API/Move', '/api/move'), true);
  assert.equal(wildcardMatch('abc', 'abcd'), false);
  assert.equal(wildcardMatch('bc', 'abc'), false);
  assert.equal(wildcardMatch('abc', 'ab'), false);
  // Only letters fold: '@' (0x40) and '`' (0x60) differ by 0x20 but are different characters.
  assert.equal(wildcardMatch('@', '`'), false);
  assert.equal(wildcardMatch('[', '{'), false);
});

test('non-ASCII letters compare case-insensitively', () => {
  assert.equal(wildcardMatch('ÉCOLE', 'école'), true);
  assert.equal(wildcardMatch('/straße/*', '/STRAßE/x'), true);
  assert.equal(wildcardMatch('é', 'e'), false);
});

test('regex metacharacters are literals', () => {
  assert.equal(wildcardMatch('a.c', 'abc'), false);
  assert.equal(wildcardMatch('a.c', 'a.c'), true);
  assert.equal(wildcardMatch('a+', 'aa'), false);
  assert.equal(wildcardMatch('(x)[y]{2}$^\\|', '(X)[Y]{2}$^\\|'), true);
});

test('? matches exactly one character', () => {
  assert.equal(wildcardMatch('a?c', 'abc'), true);
  assert.equal(wildcardMatch('a?c', 'ac'), false);
  assert.equal(wildcardMatch('a?c', 'abbc'), false);
  assert.equal(wildcardMatch('???', 'abc'), true);
  assert.equal(wildcardMatch('???', 'ab'), false);
  assert.equal(wildcardMatch('?', ''), false);
  assert.equal(wildcardMatch('?', undefined), false);
});

test('? treats a surrogate pair as one character', () => {
  assert.equal(wildcardMatch('?', '😀'), true);
  assert.equal(wildcardMatch('??', '😀'), false);
  assert.equal(wildcardMatch('a?b', 'a😀b'), true);
  assert.equal(wildcardMatch('*?', '😀'), true);
  assert.equal(wildcardMatch('*??', '😀'), false);
  assert.equal(wildcardMatch('*😀', 'xx😀'), true);
});

test('* matches any sequence, including the empty one', () => {
  assert.equal(wildcardMatch('a*', 'a'), true);
  assert.equal(wildcardMatch('a*', 'abc'), true);
  assert.equal(wildcardMatch('*c', 'c'), true);
  assert.equal(wildcardMatch('*c', 'abc'), true);
  assert.equal(wildcardMatch('*c', 'abcd'), false);
  assert.equal(wildcardMatch('a*c', 'ac'), true);
  assert.equal(wildcardMatch('a*c', 'abbbc'), true);
  assert.equal(wildcardMatch('a*c', 'abbbcd'), false);
});

test('multiple * and mixed wildcards', () => {
  assert.equal(wildcardMatch('/api/*/items/*', '/api/v1/items/42'), true);
  assert.equal(wildcardMatch('/api/*/items/*', '/api/v1/things/42'), false);
  assert.equal(wildcardMatch('*/move/*', '/api/move/up'), true);
  assert.equal(wildcardMatch('*a*b*c*', 'xxaxxbxxcxx'), true);
  assert.equal(wildcardMatch('*a*b*c*', 'xxcxxbxxaxx'), false);
  assert.equal(wildcardMatch('a**b', 'ab'), true);
  assert.equal(wildcardMatch('*?*', 'x'), true);
  assert.equal(wildcardMatch('*?*', ''), false);
  assert.equal(wildcardMatch('*.example.com', 'api.EXAMPLE.com'), true);
  assert.equal(wildcardMatch('*.example.com', 'example.com'), false);
  // Backtracking is needed: the first "ab" is a false start.
  assert.equal(wildcardMatch('*abc', 'ababc'), true);
  assert.equal(wildcardMatch('a*abc', 'aababc'), true);
});

test('a pattern of only * matches anything, including empty and undefined text', () => {
  for (const p of ['*', '**', '***']) {
    assert.equal(wildcardMatch(p, 'anything'), true);
    assert.equal(wildcardMatch(p, ''), true);
    assert.equal(wildcardMatch(p, undefined), true);
  }
});

test('an undefined pattern never matches', () => {
  assert.equal(wildcardMatch(undefined, 'x'), false);
  assert.equal(wildcardMatch(undefined, ''), false);
  assert.equal(wildcardMatch(undefined, undefined), false);
});

test('an empty pattern matches only empty (or undefined) text', () => {
  assert.equal(wildcardMatch('', ''), true);
  assert.equal(wildcardMatch('', undefined), true);
  assert.equal(wildcardMatch('', 'x'), false);
  assert.equal(wildcardMatch('x', undefined), false);
});

test('matchAttribute: a missing or empty request attribute matches every pattern', () => {
  assert.equal(matchAttribute('/api/*', undefined), true);
  assert.equal(matchAttribute('/api/*', ''), true);
  assert.equal(matchAttribute('GET', undefined), true);
  assert.equal(matchAttribute('GET', 'POST'), false);
  assert.equal(matchAttribute('GET', 'get'), true);
  assert.equal(matchAttribute(undefined, 'x'), false);
});

test('pathological patterns stay fast (no exponential backtracking)', () => {
  const long = 'a'.repeat(200_000);
  const start = process.hrtime.bigint();
  assert.equal(wildcardMatch('*a*a*a*a*b', long), false);
  assert.equal(wildcardMatch('*a*a*a*a*a', long), true);
  assert.equal(wildcardMatch('*?*?*?*?*b', long), false);
  // Worst case of the algorithm is O(pattern × text); this is ~10 × 20 000 steps.
  assert.equal(wildcardMatch('*aaaaaaaaab', long.slice(0, 20_000)), false);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  // A backtracking RegExp takes effectively forever here; generous bound to stay unflaky.
  assert.ok(ms < 2000, `took ${ms} ms`);
});

/** Deterministic PRNG (mulberry32) so the property test is reproducible. */
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

function reference(pattern: string, text: string): boolean {
  const body = pattern.replace(/[*?]|[^*?]+/g, (m) =>
    m === '*' ? '.*' : m === '?' ? '.' : m.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'),
  );
  return new RegExp(`^${body}$`, 'is').test(text);
}

test('agrees with a RegExp reference on random ASCII inputs', () => {
  const rnd = prng(12345);
  const pick = (alphabet: string, max: number) => {
    const n = Math.floor(rnd() * (max + 1));
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    return s;
  };
  for (let k = 0; k < 5_000; k++) {
    const pattern = pick('aAb*?.', 6);
    const text = pick('aAbB.', 8);
    assert.equal(wildcardMatch(pattern, text), reference(pattern, text), `pattern ${JSON.stringify(pattern)} text ${JSON.stringify(text)}`);
  }
});
