// The trace header and Content-Length lines in a message head Node has already built
// (instrumentations/http/head.ts), where a client request goes (instrumentations/http/target.ts),
// and request targets in absolute form (agent/spans/url.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtHead, contentLengthIn, hasTraceHeader, traceHeaderIn, withTraceHeaderAdded, withTraceHeaderSet } from '../../instrumentations/http/head';
import { requestAuthority } from '../../instrumentations/http/target';
import { absoluteTarget } from '../../agent/spans/url';

const HEAD = 'GET /x HTTP/1.1\r\nHost: api.internal:8080\r\nX-Custom: yes\r\n\r\n';

test('builtHead: only a string ending with the empty line counts as a built head', () => {
  assert.equal(builtHead({ _header: HEAD }), HEAD);
  assert.equal(builtHead({ _header: 'GET /x HTTP/1.1\r\nHost: a\r\n' }), undefined);
  assert.equal(builtHead({ _header: null }), undefined);
  assert.equal(builtHead({}), undefined);
});

test('header values are read case-insensitively, the first line of a name wins', () => {
  assert.equal(traceHeaderIn(HEAD), undefined);
  assert.equal(hasTraceHeader(HEAD), false);
  const withTwo = 'GET / HTTP/1.1\r\nx-amzn-trace-id:  Root=1-a;Sampled=1\r\nX-AMZN-TRACE-ID: other\r\n\r\n';
  assert.equal(traceHeaderIn(withTwo), 'Root=1-a;Sampled=1');
  assert.equal(hasTraceHeader(withTwo), true);
  // A name that only ends like ours is another header.
  assert.equal(traceHeaderIn('GET / HTTP/1.1\r\nX-Not-X-Amzn-Trace-Id: no\r\n\r\n'), undefined);
});

test('contentLengthIn: the Content-Length line of a head, in any case and spacing; none, junk or a too long number is none', () => {
  const response = (lines: string) => `HTTP/1.1 200 OK\r\n${lines}\r\n`;
  assert.equal(contentLengthIn(response('Content-Type: text/plain\r\nContent-Length: 5\r\n')), 5);
  assert.equal(contentLengthIn(response('content-length:0\r\nX-A: b\r\n')), 0);
  assert.equal(contentLengthIn(response('CONTENT-LENGTH: \t 1234 \r\n')), 1234);
  assert.equal(contentLengthIn(response('Transfer-Encoding: chunked\r\n')), undefined);
  assert.equal(contentLengthIn(response('X-Content-Length: 5\r\n')), undefined);
  assert.equal(contentLengthIn(response('Content-Length: 5x\r\n')), undefined);
  assert.equal(contentLengthIn(response('Content-Length: -1\r\n')), undefined);
  assert.equal(contentLengthIn(response('Content-Length: 1234567890123456\r\n')), undefined);
  assert.equal(contentLengthIn(response('Content-Length: 123456789012345\r\n')), 123456789012345);
});

test('requestAuthority: the host and port a client request connects to, as Node finds them in request()\'s arguments', () => {
  const cases: Array<[unknown[], string, string, unknown, string]> = [
    // URL text, URL object, options; a port the scheme does not imply is kept, the default one is not.
    [['http://api.internal:8080/x?q=1'], 'api.internal', 'http', 80, 'api.internal:8080'],
    [['http://api.internal/x'], 'api.internal', 'http', 80, 'api.internal'],
    [['https://api.internal:443/x'], 'api.internal', 'https', 443, 'api.internal'],
    [['http://api.internal:443/x'], 'api.internal', 'http', 80, 'api.internal:443'],
    [['http://user:pw@api.internal:9000/'], 'api.internal', 'http', 80, 'api.internal:9000'],
    [[new URL('http://127.0.0.1:3000/p')], '127.0.0.1', 'http', 80, '127.0.0.1:3000'],
    [[new URL('https://example.com/p')], 'example.com', 'https', 443, 'example.com'],
    [[{ hostname: 'localhost', port: 4000, path: '/' }], 'localhost', 'http', 80, 'localhost:4000'],
    [[{ host: 'localhost', port: '4001' }], 'localhost', 'http', 80, 'localhost:4001'],
    [[{ host: 'localhost' }], 'localhost', 'http', 80, 'localhost'],
    // Options after a URL: their own port wins; the options' default port, then the agent's.
    [['http://localhost:1/x', { port: 4002 }], 'localhost', 'http', 80, 'localhost:4002'],
    [['http://localhost:4003/x', { headers: { host: 'elsewhere:9' } }], 'localhost', 'http', 80, 'localhost:4003'],
    [[{ host: 'localhost', defaultPort: 8443 }], 'localhost', 'https', 443, 'localhost:8443'],
    [[{ host: 'localhost' }], 'localhost', 'https', 9443, 'localhost:9443'],
    // IPv6: bracketed, with its port.
    [['http://[::1]:4004/v6'], '::1', 'http', 80, '[::1]:4004'],
    [[{ host: '::1', port: 4005 }], '::1', 'http', 80, '[::1]:4005'],
    [[{ host: '::1' }], '::1', 'http', 80, '[::1]'],
    // A Host header of the caller's, or none at all, changes nothing.
    [[{ host: 'localhost', port: 4006, headers: { Host: 'api.example.com' } }], 'localhost', 'http', 80, 'localhost:4006'],
    [[{ host: 'localhost', port: 4007, setHost: false }], 'localhost', 'http', 80, 'localhost:4007'],
  ];
  for (const [args, host, scheme, agentPort, expected] of cases) {
    assert.equal(requestAuthority(args, host, scheme, agentPort), expected, JSON.stringify(args));
  }
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
