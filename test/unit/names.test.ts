// Entity names (spec §1.3): allowlist, 200 code points, fallback.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sanitizeName } from '../../agent/model/names';

test('clean names come back unchanged', () => {
  for (const n of [
    'my-service',
    'GET /users/:id',
    'DynamoDB',
    'api.example.com:8443',
    'a_b.c:d/e%f&g#h=i+j\\k-l@m',
    'Ünïcödé сервис 服务 ٣',
    'x',
    'a'.repeat(200),
    'é'.repeat(200),
  ]) {
    assert.equal(sanitizeName(n, 'fb'), n);
  }
});

test('disallowed characters are removed', () => {
  assert.equal(sanitizeName('GET /users/{id}', 'fb'), 'GET /users/id');
  assert.equal(sanitizeName('a?b;c*d(e)f!g$h~i^j<k>l', 'fb'), 'abcdefghijkl');
  assert.equal(sanitizeName("it's, [x] |y|", 'fb'), 'its x y');
  assert.equal(sanitizeName('emoji \u{1F600} gone', 'fb'), 'emoji  gone'); // \p{So}, not a letter
});

test('tabs and line breaks are removed, ordinary and no-break spaces kept', () => {
  assert.equal(sanitizeName('a\tb\nc\r\nd', 'fb'), 'abcd');
  assert.equal(sanitizeName('a b\u00a0c', 'fb'), 'a b\u00a0c');
});

test('truncated to 200 code points, never splitting a surrogate pair', () => {
  assert.equal(sanitizeName('a'.repeat(500), 'fb'), 'a'.repeat(200));
  // U+1D400 MATHEMATICAL BOLD CAPITAL A is a letter outside the BMP (two UTF-16 units)
  const astral = '\u{1D400}';
  const out = sanitizeName(astral.repeat(300), 'fb');
  assert.equal([...out].length, 200);
  assert.equal(out, astral.repeat(200));
  // 200 astral letters are exactly 200 code points: kept whole
  assert.equal(sanitizeName(astral.repeat(200), 'fb'), astral.repeat(200));
  const mixed = 'a' + astral.repeat(250);
  assert.equal([...sanitizeName(mixed, 'fb')].length, 200);
});

test('lone surrogates are removed', () => {
  assert.equal(sanitizeName('ab\ud800cd', 'fb'), 'abcd');
  assert.equal(sanitizeName('ab\udc00', 'fb'), 'ab');
});

test('empty, blank, all-invalid and non-string names use the fallback', () => {
  for (const n of ['', '   ', '???', '(){}', '\n\t', undefined, null, {}, [], Symbol('x'), () => 1, true]) {
    assert.equal(sanitizeName(n, 'fallback'), 'fallback', String(typeof n === 'symbol' ? 'symbol' : n));
  }
  assert.equal(sanitizeName(42, 'fb'), '42');
  assert.equal(sanitizeName(10n, 'fb'), '10');
});

test('objects are never stringified (their toString is user code)', () => {
  let called = false;
  const evil = {
    toString() {
      called = true;
      throw new Error('boom');
    },
  };
  assert.equal(sanitizeName(evil, 'fb'), 'fb');
  assert.equal(called, false);
});

test('the fallback itself is cleaned; an unusable fallback gives "unknown"', () => {
  assert.equal(sanitizeName('', 'my app (prod)'), 'my app prod');
  assert.equal(sanitizeName('', '???'), 'unknown');
  assert.equal(sanitizeName('', undefined as unknown as string), 'unknown');
});

test('leading spaces are kept when there is something else', () => {
  assert.equal(sanitizeName(' x', 'fb'), ' x');
});

test('huge names are cut to 200 code points', () => {
  const out = sanitizeName('(' + 'a/'.repeat(500_000), 'fb');
  assert.equal(out, 'a/'.repeat(100));
});

test('a repeated name is answered from memory, still per fallback', () => {
  // The last name is remembered: the same input twice, then with another fallback, must give the
  // same answers as fresh calls would.
  assert.equal(sanitizeName('!!!', 'first-fallback'), 'first-fallback');
  assert.equal(sanitizeName('!!!', 'first-fallback'), 'first-fallback');
  assert.equal(sanitizeName('!!!', 'second-fallback'), 'second-fallback');
  assert.equal(sanitizeName('orders-api', 'x'), 'orders-api');
  assert.equal(sanitizeName('orders-api', 'x'), 'orders-api');
  assert.equal(sanitizeName('orders api\t', 'x'), 'orders api');
  assert.equal(sanitizeName(42, 'x'), '42');
  assert.equal(sanitizeName(undefined, 'x'), 'x');
});
