// AWS_XRAY_DAEMON_ADDRESS parser (spec §2.2 Agent rule): every accepted form and every error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DAEMON, isIPv4, isIPv6, parseDaemonAddress } from '../../agent/config/daemon-address';

const D = { host: '127.0.0.1', port: 2000 };

function ok(input: string, udp: { host: string; port: number }, tcp: { host: string; port: number }): void {
  assert.deepEqual(parseDaemonAddress(input), { udp, tcp }, `input ${JSON.stringify(input)}`);
}

function err(input: string, match?: RegExp): void {
  const r = parseDaemonAddress(input);
  assert.ok('error' in r, `expected an error for ${JSON.stringify(input)}, got ${JSON.stringify(r)}`);
  assert.equal(typeof r.error, 'string');
  assert.ok(r.error.length > 0);
  if (match) assert.match(r.error, match, `input ${JSON.stringify(input)}`);
}

test('DEFAULT_DAEMON is 127.0.0.1:2000 and frozen', () => {
  assert.deepEqual({ ...DEFAULT_DAEMON }, D);
  assert.ok(Object.isFrozen(DEFAULT_DAEMON));
});

test('host:port sets both channels', () => {
  ok('127.0.0.1:2000', D, D);
  ok('10.0.0.5:3000', { host: '10.0.0.5', port: 3000 }, { host: '10.0.0.5', port: 3000 });
  ok('  169.254.79.129:2000  ', { host: '169.254.79.129', port: 2000 }, { host: '169.254.79.129', port: 2000 });
  ok('localhost:1', { host: 'localhost', port: 1 }, { host: 'localhost', port: 1 });
  ok('xray-daemon.internal:65535', { host: 'xray-daemon.internal', port: 65535 }, { host: 'xray-daemon.internal', port: 65535 });
  ok('xray_daemon:2000', { host: 'xray_daemon', port: 2000 }, { host: 'xray_daemon', port: 2000 });
  ok('host:02000', { host: 'host', port: 2000 }, { host: 'host', port: 2000 });
  // a trailing separator is harmless
  ok('host:2000,', { host: 'host', port: 2000 }, { host: 'host', port: 2000 });
});

test('host:port result has independent udp and tcp objects', () => {
  const r = parseDaemonAddress('h:1');
  assert.ok(!('error' in r));
  assert.notEqual(r.udp, r.tcp);
});

test('two-part form, either order, any space/comma separators, any prefix case', () => {
  const u = { host: 'u.example', port: 2001 };
  const t = { host: 't.example', port: 2002 };
  ok('udp:u.example:2001 tcp:t.example:2002', u, t);
  ok('tcp:t.example:2002 udp:u.example:2001', u, t);
  ok('udp:u.example:2001,tcp:t.example:2002', u, t);
  ok('udp:u.example:2001, tcp:t.example:2002', u, t);
  ok('udp:u.example:2001 ,, \t tcp:t.example:2002', u, t);
  ok('  tcp:t.example:2002   udp:u.example:2001  ', u, t);
  ok('UDP:u.example:2001 TcP:t.example:2002', u, t);
  ok(',udp:u.example:2001,tcp:t.example:2002,', u, t);
  ok('udp:u.example:2001\ntcp:t.example:2002', u, t);
});

test('a single prefixed part: the other channel uses the default', () => {
  ok('udp:10.0.0.1:3000', { host: '10.0.0.1', port: 3000 }, D);
  ok('tcp:10.0.0.1:3000', D, { host: '10.0.0.1', port: 3000 });
  ok('TCP:daemon:2001', D, { host: 'daemon', port: 2001 });
  ok('udp:[::1]:2000', { host: '::1', port: 2000 }, D);
});

test('default endpoints returned for a missing channel are copies, not DEFAULT_DAEMON', () => {
  const r = parseDaemonAddress('udp:h:1');
  assert.ok(!('error' in r));
  assert.notEqual(r.tcp, DEFAULT_DAEMON);
  r.tcp.port = 9; // must not throw (not frozen) and must not change the default
  assert.equal(DEFAULT_DAEMON.port, 2000);
});

test('IPv6 in brackets; host returned without brackets', () => {
  ok('[::1]:2000', { host: '::1', port: 2000 }, { host: '::1', port: 2000 });
  ok('[fd00:ec2::254]:2000', { host: 'fd00:ec2::254', port: 2000 }, { host: 'fd00:ec2::254', port: 2000 });
  ok('[2001:db8:0:0:0:0:0:1]:3000', { host: '2001:db8:0:0:0:0:0:1', port: 3000 }, { host: '2001:db8:0:0:0:0:0:1', port: 3000 });
  ok('[::ffff:127.0.0.1]:2000', { host: '::ffff:127.0.0.1', port: 2000 }, { host: '::ffff:127.0.0.1', port: 2000 });
  ok('[fe80::1%eth0]:2000', { host: 'fe80::1%eth0', port: 2000 }, { host: 'fe80::1%eth0', port: 2000 });
  ok('udp:[::1]:2000 tcp:[::2]:2001', { host: '::1', port: 2000 }, { host: '::2', port: 2001 });
});

test('errors: empty and separators only', () => {
  err('', /empty/);
  err('   ', /empty/);
  err(' , ,', /empty/);
});

test('errors: missing or bad port', () => {
  err('localhost', /missing ":port"/);
  err('localhost:', /port "" is not an integer/);
  err('localhost:abc', /port "abc"/);
  err('localhost:0', /port 0 is not in 1\.\.65535/);
  err('localhost:65536', /port 65536 is not in 1\.\.65535/);
  err('localhost:99999', /not in 1\.\.65535/);
  err('localhost:123456', /not an integer/);
  err('localhost:-1', /not an integer/);
  err('localhost:+1', /not an integer/);
  err('localhost:1.5', /not an integer/);
  err('localhost:1e3', /not an integer/);
  err('localhost:0x10', /not an integer/);
});

test('errors: missing or bad host', () => {
  err(':2000', /missing host/);
  err('http://localhost:2000', /looks like a URL/);
  err('udp://localhost:2000', /looks like a URL/);
  err('foo:bar:2000', /not a valid host/);
  err('user@host:2000', /not a valid host/);
  err('a/b:2000', /not a valid host/);
  err('1.2.3.256:2000', /not a valid IPv4/);
  err('1.2.3:2000', /not a valid IPv4/);
  err(`${'a'.repeat(254)}:2000`, /not a valid host/);
});

test('errors: IPv6 without brackets or malformed brackets', () => {
  err('::1:2000', /brackets/);
  err('fe80::1:2000', /brackets/);
  err('[::1:2000', /missing "\]"/);
  err('[::1]2000', /expected ":port"/);
  err('[::1]', /expected ":port"/);
  err('[]:2000', /not an IPv6 address/);
  err('[localhost]:2000', /not an IPv6 address/);
  err('[1.2.3.4]:2000', /not an IPv6 address/);
  err('[::1]:0', /not in 1\.\.65535/);
});

test('errors: two-part form problems', () => {
  err('udp:a:1 b:2', /"b:2" has no udp:\/tcp: prefix/);
  err('a:1 tcp:b:2', /"a:1" has no udp:\/tcp: prefix/);
  err('a:1 b:2', /no udp:\/tcp: prefix/);
  err('udp:a:1 udp:b:2', /udp: given twice/);
  err('tcp:a:1 TCP:b:2', /tcp: given twice/);
  err('udp:a:1 tcp:b:2 tcp:c:3', /too many parts/);
  err('udp:a tcp:b:2', /udp: address "a": missing ":port"/);
  err('udp:a:1 tcp:b:x', /tcp: address "b:x": port "x"/);
  err('udp:2000', /udp: address "2000": missing ":port"/);
  err('udp:udp:h:2000', /brackets/);
  err('udp::2000', /missing host/);
});

test('never throws on garbage', () => {
  const alphabet = 'udpTCP:[]., \t\n0123456789abcdef%-_/@\u0000\u001b';
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let i = 0; i < 2000; i++) {
    let s = '';
    const len = Math.floor(rand() * 40);
    for (let j = 0; j < len; j++) s += alphabet[Math.floor(rand() * alphabet.length)];
    const r = parseDaemonAddress(s);
    if ('error' in r) {
      assert.equal(typeof r.error, 'string');
      assert.doesNotMatch(r.error, /[\u0000-\u001f]/, 'error text must be escaped');
    } else {
      for (const ep of [r.udp, r.tcp]) {
        assert.ok(Number.isInteger(ep.port) && ep.port >= 1 && ep.port <= 65535, s);
        assert.ok(ep.host.length > 0, s);
      }
    }
  }
  // Non-string input from untyped callers.
  assert.ok('error' in parseDaemonAddress(undefined as unknown as string));
  assert.ok('error' in parseDaemonAddress(42 as unknown as string));
});

test('isIPv4 / isIPv6', () => {
  for (const s of ['0.0.0.0', '127.0.0.1', '255.255.255.255', '10.1.2.3']) assert.ok(isIPv4(s), s);
  for (const s of ['256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', 'a.b.c.d', '', '1.2.3.4 ', '1.2.3.', '.1.2.3', '1..2.3', '1.2.3.4.', '1.2.3.1000', '-1.2.3.4']) assert.ok(!isIPv4(s), s);
  for (const s of ['::', '::1', '1::', 'fd00:ec2::254', '2001:db8:0:0:0:0:0:1', '::ffff:1.2.3.4', 'fe80::1%eth0', '1:2:3:4:5:6:7::']) {
    assert.ok(isIPv6(s), s);
  }
  for (const s of ['', ':', ':::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1::2::3', 'g::1', '12345::1', '::1.2.3', '1.2.3.4', '::1%', '1:2:3:4:5:6:7:8::']) {
    assert.ok(!isIPv6(s), s);
  }
});
