// Annotations and metadata (spec §1.8, §1.9): validation and the never-throwing JSON-safe copy.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isValidAnnotationKey,
  isValidAnnotationValue,
  isValidMetadataNamespace,
  normalizeMetadataValue,
} from '../../agent/model/attributes';

/** What a consumer will do with the result: it must serialize, and to the same thing twice. */
function json(v: unknown): string {
  const s = JSON.stringify(v);
  assert.equal(typeof s === 'string' || v === undefined, true);
  return s;
}

test('annotation keys: [A-Za-z0-9_]+ only', () => {
  for (const k of ['a', 'A_1', 'order_id', '123', '_']) assert.ok(isValidAnnotationKey(k), k);
  for (const k of ['', 'a-b', 'a.b', 'a b', 'é', 'a\n', null, 1, undefined, {}]) assert.equal(isValidAnnotationKey(k), false, String(k));
});

test('annotation values: string, boolean, finite number', () => {
  for (const v of ['', 'x', true, false, 0, -1.5, Number.MAX_VALUE]) assert.ok(isValidAnnotationValue(v), String(v));
  for (const v of [null, undefined, NaN, Infinity, -Infinity, 1n, {}, [], Symbol('s'), () => 1]) {
    assert.equal(isValidAnnotationValue(v), false, typeof v);
  }
});

test('metadata namespaces', () => {
  for (const ns of ['default', 'debug', 'aws', 'AWS', 'AWSx', 'my.AWS.ns']) assert.ok(isValidMetadataNamespace(ns), ns);
  for (const ns of ['', 'AWS.', 'AWS.foo', '__proto__', null, 1, undefined]) assert.equal(isValidMetadataNamespace(ns), false, String(ns));
});

test('plain JSON data is copied as is', () => {
  const v = { a: 1, b: 'two', c: [true, null, 3.5], d: { e: {} }, f: [] };
  assert.deepEqual(normalizeMetadataValue(v), v);
  assert.notEqual(normalizeMetadataValue(v), v); // a copy: the entity holds no live reference
  for (const p of ['s', 0, -0, 1.25, true, false, null]) assert.equal(normalizeMetadataValue(p), p);
});

test('non-JSON scalars', () => {
  assert.equal(normalizeMetadataValue(12345678901234567890n), '12345678901234567890');
  assert.equal(normalizeMetadataValue(NaN), 'NaN');
  assert.equal(normalizeMetadataValue(-Infinity), '-Infinity');
  assert.equal(normalizeMetadataValue(undefined), undefined);
  assert.equal(normalizeMetadataValue(() => 1), undefined);
  assert.equal(normalizeMetadataValue(Symbol('x')), undefined);
  assert.deepEqual(normalizeMetadataValue({ a: undefined, b: () => 1, c: Symbol('s'), d: 1, [Symbol('k')]: 2 }), { d: 1 });
  assert.deepEqual(normalizeMetadataValue([undefined, () => 1, Symbol('s'), 1, 2n]), [null, null, null, 1, '2']);
  // holes become null, as in JSON
  // eslint-disable-next-line no-sparse-arrays
  assert.deepEqual(normalizeMetadataValue([1, , 3]), [1, null, 3]);
});

test('cycles become [Circular]; shared (non-cyclic) references are repeated', () => {
  const a: Record<string, unknown> = { name: 'a' };
  a.self = a;
  a.list = [a, { back: a }];
  assert.deepEqual(normalizeMetadataValue(a), {
    name: 'a',
    self: '[Circular]',
    list: ['[Circular]', { back: '[Circular]' }],
  });
  const shared = { x: 1 };
  assert.deepEqual(normalizeMetadataValue({ p: shared, q: shared, r: [shared, shared] }), {
    p: { x: 1 },
    q: { x: 1 },
    r: [{ x: 1 }, { x: 1 }],
  });
  const m = new Map<string, unknown>();
  m.set('me', m);
  assert.deepEqual(normalizeMetadataValue(m), { me: '[Circular]' });
});

test('errors, dates, maps, sets, buffers', () => {
  const sys = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', errno: -111 });
  assert.deepEqual(normalizeMetadataValue(sys), { name: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:1', code: 'ECONNREFUSED' });
  assert.deepEqual(normalizeMetadataValue(new TypeError('bad')), { name: 'TypeError', message: 'bad' });
  assert.equal(normalizeMetadataValue(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6))), '2024-01-02T03:04:05.006Z');
  assert.equal(normalizeMetadataValue(new Date(NaN)), 'Invalid Date');
  assert.deepEqual(
    normalizeMetadataValue(new Map<unknown, unknown>([['a', 1], [2, 'two'], [{}, 'obj'], [null, 0], [Symbol('s'), new Set([1, 'x'])]])),
    { a: 1, '2': 'two', '[object]': 'obj', null: 0, 'Symbol(s)': [1, 'x'] },
  );
  assert.deepEqual(normalizeMetadataValue(new Set([1, { a: 2 }])), [1, { a: 2 }]);
  assert.equal(normalizeMetadataValue(Buffer.alloc(1000)), '[Buffer 1000 bytes]');
  assert.equal(normalizeMetadataValue(new Uint16Array(4)), '[Buffer 8 bytes]');
  assert.equal(normalizeMetadataValue(new ArrayBuffer(3)), '[Buffer 3 bytes]');
  assert.equal(normalizeMetadataValue(new DataView(new ArrayBuffer(5))), '[Buffer 5 bytes]');
});

test('toJSON is honoured; its result is not re-toJSON-ed; toJSON returning this is walked', () => {
  assert.deepEqual(normalizeMetadataValue({ d: { toJSON: () => ({ v: 1, n: 2n }) } }), { d: { v: 1, n: '2' } });
  const self = { a: 1, toJSON(): unknown { return this; } };
  assert.deepEqual(normalizeMetadataValue(self), { a: 1 });
  const chained = { toJSON: () => ({ toJSON: () => 'never called', x: 1 }) };
  assert.deepEqual(normalizeMetadataValue(chained), { x: 1 });
  const loop: { toJSON?: () => unknown } = {};
  loop.toJSON = () => ({ inner: loop });
  assert.deepEqual(normalizeMetadataValue(loop), { inner: '[Circular]' });
});

test('throwing getters and throwing toJSON: that property is skipped', () => {
  const o = {
    ok: 1,
    get bad(): number {
      throw new Error('getter');
    },
    nested: { toJSON(): never { throw new Error('toJSON'); } },
    after: 'x',
  };
  assert.deepEqual(normalizeMetadataValue(o), { ok: 1, after: 'x' });
  const e = new Error('m');
  Object.defineProperty(e, 'name', { get() { throw new Error('no name'); } });
  assert.deepEqual(normalizeMetadataValue(e), { message: 'm' });
});

test('a Proxy that throws on every trap never escapes', () => {
  const handler: ProxyHandler<object> = {};
  for (const trap of ['get', 'set', 'has', 'ownKeys', 'getPrototypeOf', 'getOwnPropertyDescriptor', 'defineProperty',
    'deleteProperty', 'apply', 'construct', 'isExtensible', 'preventExtensions', 'setPrototypeOf'] as const) {
    (handler as Record<string, unknown>)[trap] = () => { throw new Error(`trap ${trap}`); };
  }
  const p = new Proxy({}, handler);
  const pa = new Proxy([1, 2], handler);
  const pf = new Proxy(() => 1, handler);
  assert.equal(normalizeMetadataValue(p), undefined);
  assert.equal(normalizeMetadataValue(pf), undefined);
  assert.deepEqual(normalizeMetadataValue({ a: p, b: 1, c: [p, pa, 2], d: pa }), { b: 1, c: [null, null, 2] });
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  assert.deepEqual(normalizeMetadataValue({ r: proxy, s: 2 }), { s: 2 });
});

test('depth is capped', () => {
  let deep: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < 100; i++) deep = { d: deep };
  const out = json(normalizeMetadataValue(deep));
  assert.ok(out.includes('"[Too deep]"'));
  assert.equal(out.split('"d"').length - 1, 20);
});

test('__proto__ keys become data, never a prototype change', () => {
  const src = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as object;
  const out = normalizeMetadataValue(src) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.equal((out as { polluted?: boolean }).polluted, undefined);
  assert.equal(json(out), '{"__proto__":{"polluted":true},"a":1}');
});

test('huge values stay within the budget', () => {
  const budget = 16 * 1024;
  const limit = budget + 200; // markers may go a little past the budget
  const cases: [string, unknown][] = [
    ['long string', 'x'.repeat(1_000_000)],
    ['long array', Array.from({ length: 200_000 }, (_, i) => i)],
    ['sparse giant array', new Array(1e8)],
    ['wide object', Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`key${i}`, `value${i}`]))],
    ['deep and wide', Array.from({ length: 50 }, () => ({ a: 'y'.repeat(5000), b: [Array.from({ length: 1000 }, () => 'z')] }))],
    ['big map', new Map(Array.from({ length: 50_000 }, (_, i) => [i, { i }]))],
    ['big set', new Set(Array.from({ length: 50_000 }, (_, i) => `s${i}`))],
    ['long key', { ['k'.repeat(100_000)]: 1, short: 2 }],
    // the budget is JSON bytes: escapes (\u0001 = 6 bytes) and multi-byte UTF-8 count in full
    ['control characters', '\u0001'.repeat(100_000)],
    ['quotes and backslashes', { q: '"\\'.repeat(50_000) }],
    ['CJK', '漢'.repeat(100_000)],
    ['emoji', ['\u{1F600}'.repeat(100_000)]],
    ['lone surrogates', '\ud800'.repeat(100_000)],
  ];
  for (const [name, v] of cases) {
    const out = json(normalizeMetadataValue(v));
    assert.ok(Buffer.byteLength(out) <= limit, `${name}: ${Buffer.byteLength(out)} bytes`);
  }
  // a smaller budget is honoured too
  assert.ok(json(normalizeMetadataValue('x'.repeat(10_000), 100)).length <= 100);
  assert.equal(normalizeMetadataValue('héllo\u0001wörld', 11), 'héllo\u2026'); // "héllo…" = 11 bytes
  const arr = normalizeMetadataValue(Array.from({ length: 1000 }, (_, i) => i), 100) as unknown[];
  assert.match(String(arr[arr.length - 1]), /^\u2026 \d+ more$/);
  const obj = normalizeMetadataValue(Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i])), 100) as Record<string, unknown>;
  assert.match(String(obj['\u2026']), /^\d+ more$/);
  // bad budgets mean the default
  assert.equal(normalizeMetadataValue('abc', -1), 'abc');
  assert.equal((normalizeMetadataValue('x'.repeat(100_000), Infinity) as string).length <= limit, true);
});

test('truncated strings keep surrogate pairs whole', () => {
  for (let budget = 3; budget < 20; budget++) {
    const out = normalizeMetadataValue('\u{1F600}'.repeat(50), budget) as string;
    assert.ok(out.endsWith('\u2026'));
    assert.equal(Buffer.from(out).toString(), out, `budget ${budget}: lone surrogate`);
  }
});

test('every output serializes', () => {
  class Custom { x = 1; #hidden = 2; get y(): number { return this.#hidden; } }
  const values: unknown[] = [new Custom(), Promise.resolve(1), new WeakMap(), /re/g, Math, globalThis.process?.versions,
    Object.create(null), new (class M extends Map<number, number> {})([[1, 2]]), new Error('e', { cause: new Error('c') }), new URL('http://x/y')];
  for (const v of values) assert.doesNotThrow(() => json(normalizeMetadataValue(v)));
  assert.deepEqual(normalizeMetadataValue(new URL('http://x/y')), 'http://x/y');
  assert.deepEqual(normalizeMetadataValue(new Custom()), { x: 1 });
});
