// The trace header line in a message head Node has already built (instrumentations/http/head.ts),
// and request targets in absolute form (agent/spans/url.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtHead, hasTraceHeader, hostIn, traceHeaderIn, withTraceHeaderAdded, withTraceHeaderSet } from '../../instrumentations/http/head';
import { absoluteTarget } from '../../agent/spans/url';

const HEAD = 'GET /x HTTP/1.1\r\nHost: api.internal:8080\r\nX-Custom: yes\r\n\r\n';

test('builtHead: only a string ending with the empty line counts as a built head', () => {
  assert.equal(builtHead({ _header: HEAD }), HEAD);
  assert.equal(builtHead({ _header: 'GET /x HTTP/1.1\r\nHost: a\r\n' }), undefined);
  assert.equal(builtHead({ _header: null }), undefined);
  assert.equal(builtHead({}), undefined);
});

test('header values are read case-insensitively, the first line of a name wins', () => {
  assert.equal(hostIn(HEAD), 'api.internal:8080');
  assert.equal(traceHeaderIn(HEAD), undefined);
  assert.equal(hasTraceHeader(HEAD), false);
  const withTwo = 'GET / HTTP/1.1\r\nx-amzn-trace-id:  Root=1-a;Sampled=1\r\nX-AMZN-TRACE-ID: other\r\n\r\n';
  assert.equal(traceHeaderIn(withTwo), 'Root=1-a;Sampled=1');
  assert.equal(hasTraceHeader(withTwo), true);
  // A name that only ends like ours is another header.
  assert.equal(traceHeaderIn('GET / HTTP/1.1\r\nX-Not-X-Amzn-Trace-Id: no\r\n\r\n'), undefined);
  assert.equal(hostIn('GET / HTTP/1.1\r\nX-Host: no\r\n\r\n'), undefined);
});

test('the trace header is added as the last line, or replaces the existing one in place', () => {
  assert.equal(withTraceHeaderAdded(HEAD, 'Root=1-b'), 'GET /x HTTP/1.1\r\nHost: api.internal:8080\r\nX-Custom: yes\r\nX-Amzn-Trace-Id: Root=1-b\r\n\r\n');
  assert.equal(withTraceHeaderSet(HEAD, 'Root=1-b'), withTraceHeaderAdded(HEAD, 'Root=1-b'));
  const existing = 'GET /x HTTP/1.1\r\nx-amzn-trace-id: Root=1-old\r\nHost: h\r\n\r\n';
  // A value with `$&` or `$1` in it is written as it is, not read as a replacement pattern.
  assert.equal(withTraceHeaderSet(existing, 'Root=1-new;Extra=$&$1'), 'GET /x HTTP/1.1\r\nX-Amzn-Trace-Id: Root=1-new;Extra=$&$1\r\nHost: h\r\n\r\n');
});

test('absoluteTarget: the parts of an absolute-form target; origin form, * and junk are not', () => {
  assert.deepEqual(absoluteTarget('http://shop.example:8080/hello?ref=1'), { scheme: 'http', host: 'shop.example:8080', path: '/hello?ref=1' });
  assert.deepEqual(absoluteTarget('HTTPS://user:pw@secure.example/p'), { scheme: 'https', host: 'secure.example', path: '/p' });
  assert.deepEqual(absoluteTarget('http://bare.example'), { scheme: 'http', host: 'bare.example', path: '/' });
  assert.deepEqual(absoluteTarget('http://[::1]:3000/x'), { scheme: 'http', host: '[::1]:3000', path: '/x' });
  for (const t of ['/hello', '/http://x/y', '*', '', 'relative/path', 'mailto:a@b', '://nohost']) assert.equal(absoluteTarget(t), undefined, t);
});
