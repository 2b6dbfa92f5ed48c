// The UDP emitter against real sockets on loopback (spec §2.1 "Agent rule (emitter)"; DESIGN §4.3,
// §4.5): datagrams arrive intact and in order, flush() waits for them, the in-flight bound drops and
// counts, failures (closed port, DNS) never throw and are counted, and the socket never keeps the
// process alive.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import dns from 'node:dns';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UdpEmitter, BATCH_MAX, MAX_WAITING_BURSTS } from '../../agent/export/udp-emitter';
import { Recorder } from '../../agent/recorder';
import { DATAGRAM_HEADER } from '../../agent/export/serializer';
import { log } from '../../agent/log';
import { TEST_RECORDER_OPTIONS } from '../helpers/in-process-recorder';

before(() => log.setLevel('silent'));

interface Listener {
  port: number;
  received: string[];
  waitFor(n: number, timeoutMs?: number): Promise<string[]>;
  close(): Promise<void>;
}

async function listen(): Promise<Listener> {
  const socket = dgram.createSocket('udp4');
  const received: string[] = [];
  let waiters: Array<() => void> = [];
  socket.on('message', (msg) => {
    received.push(msg.toString('utf8'));
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  // Room for the tests that send a few hundred KB at once (capped by the OS's maximum, harmlessly).
  socket.setRecvBufferSize(1 << 20);
  const port = socket.address().port;
  return {
    port,
    received,
    async waitFor(n, timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < n) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out: ${received.length} of ${n} datagrams received`);
        await Promise.race([new Promise<void>((r) => waiters.push(r)), sleep(left)]);
      }
      return received.slice();
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** An emitter sending to a fresh listener; both closed afterwards. */
async function withEmitter(
  { maxInFlight, batchMs }: { maxInFlight: number; batchMs?: number },
  fn: (daemon: Listener, emitter: UdpEmitter) => Promise<void>,
): Promise<void> {
  const daemon = await listen();
  const emitter = new UdpEmitter({ host: '127.0.0.1', port: daemon.port }, maxInFlight, batchMs);
  try {
    await fn(daemon, emitter);
  } finally {
    emitter.close();
    await daemon.close();
  }
}

/** A UDP port on 127.0.0.1 with nobody listening on it. */
async function closedPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function datagram(i: number): string {
  return '{"format":"json","version":1}\n' + JSON.stringify({ name: `seg-${i}`, id: i.toString(16).padStart(16, '0'), note: 'é✓' });
}

test('datagrams arrive intact and in order; flush() resolves once all were sent', () =>
  withEmitter({ maxInFlight: 1000 }, async (daemon, emitter) => {
    await emitter.flush(); // idle: resolves at once
    const first = Array.from({ length: 20 }, (_, i) => datagram(i));
    for (const d of first) emitter.send(d); // before the socket is connected: queued
    assert.equal(emitter.busy, true);
    await emitter.flush();
    assert.equal(emitter.busy, false);
    assert.equal(emitter.stats.sent, 20, 'flush resolved after every send completed');
    const second = Array.from({ length: 30 }, (_, i) => datagram(100 + i));
    for (const d of second) emitter.send(d); // connected now
    await emitter.flush();
    assert.equal(emitter.stats.sent, 50);
    assert.equal(emitter.stats.failed, 0);
    assert.equal(emitter.stats.droppedQueueFull, 0);
    const got = await daemon.waitFor(50);
    assert.deepEqual(got, [...first, ...second]);
    // A big datagram (near the default budget) also arrives byte for byte.
    const big = '{"format":"json","version":1}\n' + JSON.stringify({ name: 'big', pad: 'ü'.repeat(30000) });
    assert.ok(Buffer.byteLength(big) > 60000 && Buffer.byteLength(big) <= 64512);
    emitter.send(big);
    await emitter.flush();
    const all = await daemon.waitFor(51);
    assert.equal(all[50], big);
  }));

test('bursts: datagrams wait at most batchMs for others, then leave together, in order', () =>
  withEmitter({ maxInFlight: 1000, batchMs: 300 }, async (daemon, emitter) => {
    emitter.send(datagram(0)); // connects the socket; waits there
    await emitter.flush();
    await daemon.waitFor(1);
    const burst = [datagram(1), datagram(2), datagram(3)];
    const sentAt = Date.now();
    for (const d of burst) emitter.send(d);
    assert.equal(emitter.busy, true);
    await sleep(100);
    assert.equal(daemon.received.length, 1, 'nothing leaves before the burst window ends');
    const got = await daemon.waitFor(4);
    assert.ok(Date.now() - sentAt >= 250, 'the burst left when its window ended');
    assert.deepEqual(got.slice(1), burst);
    await emitter.flush();
    assert.equal(emitter.stats.sent, 4);
    assert.equal(emitter.busy, false);
  }));

test(`bursts: a full burst (${BATCH_MAX}) leaves at once; flush() sends a waiting burst at once`, () =>
  withEmitter({ maxInFlight: 1000, batchMs: 60_000 }, async (daemon, emitter) => {
    emitter.send(datagram(0));
    await emitter.flush();
    const full = Array.from({ length: BATCH_MAX }, (_, i) => datagram(1 + i));
    for (const d of full) emitter.send(d);
    const got = await daemon.waitFor(1 + BATCH_MAX, 2000); // far less than the 60 s window
    assert.deepEqual(got.slice(1), full);
    emitter.send(datagram(999));
    await emitter.flush();
    assert.equal((await daemon.waitFor(2 + BATCH_MAX, 2000)).at(-1), datagram(999));
    assert.equal(emitter.stats.sent, 2 + BATCH_MAX);
  }));

test('bursts: when large datagrams fill the burst buffer, what it holds leaves first, all intact', () =>
  withEmitter({ maxInFlight: 1000, batchMs: 60_000 }, async (daemon, emitter) => {
    emitter.send(datagram(0));
    await emitter.flush();
    const big = (i: number) => '{"format":"json","version":1}\n' + JSON.stringify({ name: `big-${i}`, pad: 'ü'.repeat(14000) });
    emitter.send(big(1));
    emitter.send(big(2));
    emitter.send(big(3)); // ~84 KB in all: 1 and 2 leave now, 3 waits for its window
    const got = await daemon.waitFor(3, 2000);
    assert.deepEqual(got.slice(1), [big(1), big(2)]);
    await emitter.flush();
    assert.deepEqual((await daemon.waitFor(4, 2000)).slice(3), [big(3)]);
    assert.equal(emitter.stats.sent, 4);
  }));

test('maxInFlight bounds what is queued: the excess is dropped and counted', () =>
  withEmitter({ maxInFlight: 5 }, async (daemon, emitter) => {
    for (let i = 0; i < 25; i++) emitter.send(datagram(i)); // synchronously, before the socket connects
    assert.equal(emitter.stats.droppedQueueFull, 20);
    await emitter.flush();
    assert.equal(emitter.stats.sent, 5);
    const got = await daemon.waitFor(5);
    assert.deepEqual(got, [0, 1, 2, 3, 4].map(datagram), 'the first five were kept');
    await sleep(50);
    assert.equal(daemon.received.length, 5, 'nothing else arrived');
    // Once drained, new sends are accepted again.
    emitter.send(datagram(99));
    await emitter.flush();
    assert.deepEqual(await daemon.waitFor(6), [0, 1, 2, 3, 4, 99].map(datagram));
    assert.equal(emitter.stats.droppedQueueFull, 20);
  }));

/** A datagram of `bytes` bytes (ASCII), named `name`. */
function sized(name: string, bytes: number): string {
  const head = DATAGRAM_HEADER + JSON.stringify({ name, pad: '' });
  return head.slice(0, -2) + 'p'.repeat(bytes - head.length) + '"}';
}

test('before the socket connects, more than one burst buffer of datagrams waits for it; all leave, in order', () =>
  withEmitter({ maxInFlight: 1000, batchMs: 60_000 }, async (daemon, emitter) => {
    // 5 × 30 KB: two fit a 64 KiB burst buffer, so full ones are set aside until the socket is there.
    const sent = Array.from({ length: 5 }, (_, i) => sized(`w-${i}`, 30_000));
    for (const d of sent) emitter.send(d);
    assert.equal(emitter.stats.droppedQueueFull, 0);
    await emitter.flush();
    assert.deepEqual(await daemon.waitFor(5), sent);
    assert.equal(emitter.stats.sent, 5);
    assert.equal(emitter.busy, false);
  }));

test(`before the socket connects, at most ${MAX_WAITING_BURSTS} full burst buffers wait: past that, new datagrams are dropped and counted`, () =>
  withEmitter({ maxInFlight: 1000, batchMs: 60_000 }, async (_daemon, emitter) => {
    // 40 KB each: one per buffer. The set-aside ones plus the one being filled are kept.
    const kept = MAX_WAITING_BURSTS + 1;
    for (let i = 0; i < kept + 3; i++) emitter.send(sized(`d-${i}`, 40_000));
    assert.equal(emitter.stats.droppedQueueFull, 3);
    await emitter.flush();
    assert.equal(emitter.stats.sent, kept);
    assert.equal(emitter.stats.failed, 0);
    assert.equal(emitter.busy, false);
    // Once connected, a full buffer is sent, not set aside: nothing more is dropped.
    for (let i = 0; i < 4; i++) emitter.send(sized(`e-${i}`, 40_000));
    await emitter.flush();
    assert.equal(emitter.stats.droppedQueueFull, 3);
    assert.equal(emitter.stats.sent, kept + 4);
  }));

test('before the socket connects, a tree over the budget that meets a partly full buffer is split, not dropped', () =>
  withEmitter({ maxInFlight: 1000, batchMs: 60_000 }, async (daemon, emitter) => {
    const budget = 16_000;
    const recorder = new Recorder({ ...TEST_RECORDER_OPTIONS, maxDatagramBytes: budget }, { decide: () => ({ sampled: true }) }, emitter);
    // 60 KB already wait for the socket: ~5 KB of the burst buffer is left, less than the budget.
    const first = sized('first', 60_000);
    emitter.send(first);
    const seg = recorder.startSegment({});
    const ids = [seg.id];
    for (let i = 0; i < 20; i++) {
      const child = seg.addNewSubsegment(`child-${i}`)!;
      child.addMetadata('pad', 'x'.repeat(1000));
      child.close();
      ids.push(child.id);
    }
    seg.close(); // ~21 KB in one document: over the budget, so its children go out on their own
    await recorder.flush();
    assert.equal(recorder.serializer.stats.dropped, 0);
    assert.ok(recorder.serializer.stats.splitForSize >= 1, 'the tree was split');
    assert.equal(emitter.stats.droppedQueueFull, 0);
    const got = await daemon.waitFor(1 + ids.length);
    assert.equal(got[0], first);
    const docs = got.slice(1).map((d) => {
      assert.ok(Buffer.byteLength(d) <= budget);
      return JSON.parse(d.slice(DATAGRAM_HEADER.length)) as { id: string };
    });
    assert.deepEqual(docs.map((d) => d.id).sort(), ids.sort(), 'every entity arrived, once');
  }));

test('a daemon on a closed port: no throw, failures counted, flush still resolves', async () => {
  const port = await closedPort();
  const emitter = new UdpEmitter({ host: '127.0.0.1', port }, 100);
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  try {
    for (let round = 0; round < 5; round++) {
      assert.doesNotThrow(() => emitter.send(datagram(round)));
      await emitter.flush();
      await sleep(20); // let the ICMP "port unreachable" come back
    }
    await emitter.flush();
    assert.ok(emitter.stats.failed >= 1, `failures counted (${JSON.stringify(emitter.stats)})`);
    assert.equal(emitter.busy, false);
    assert.deepEqual(uncaught, []);
  } finally {
    process.off('uncaughtException', onUncaught);
    emitter.close();
  }
});

test('while the daemon refuses datagrams, sends are skipped for a second, then tried again', async () => {
  const port = await closedPort();
  const emitter = new UdpEmitter({ host: '127.0.0.1', port }, 100);
  try {
    // Until a refusal comes back (ICMP), sends go out; afterwards they are dropped unsent.
    for (let i = 0; i < 50 && emitter.stats.failed === 0; i++) {
      emitter.send(datagram(i));
      await emitter.flush();
      await sleep(10);
    }
    assert.ok(emitter.stats.failed >= 1, JSON.stringify(emitter.stats));
    const failed = emitter.stats.failed;
    for (let i = 0; i < 10; i++) emitter.send(datagram(i));
    assert.equal(emitter.stats.droppedDaemonDown, 10, 'skipped without a send while the daemon is down');
    assert.equal(emitter.stats.failed, failed);
    await sleep(1100);
    // After the pause the daemon is probed again: the send is attempted (and refused again).
    emitter.send(datagram(99));
    await emitter.flush();
    await sleep(20);
    emitter.send(datagram(100));
    await emitter.flush();
    assert.ok(emitter.stats.failed > failed, `tried again after the pause (${JSON.stringify(emitter.stats)})`);
  } finally {
    emitter.close();
  }
});

/**
 * Makes `host` fail its first lookup (through the real resolver: `.invalid` never resolves) and
 * resolve to 127.0.0.1 afterwards, as when a container's DNS entry appears after the app started.
 * dgram takes `dns.lookup` when a socket is created, so the emitter's sockets see this function.
 */
function flakyHost(host: string): { lookups: () => number; restore: () => void } {
  const realLookup = dns.lookup;
  let lookups = 0;
  (dns as { lookup: unknown }).lookup = function (hostname: string, ...rest: unknown[]) {
    if (hostname !== host) return Reflect.apply(realLookup, dns, [hostname, ...rest]);
    lookups++;
    if (lookups === 1) return Reflect.apply(realLookup, dns, [hostname, ...rest]);
    const cb = rest[rest.length - 1] as (err: Error | null, address: string, family: number) => void;
    process.nextTick(cb, null, '127.0.0.1', 4);
  };
  return { lookups: () => lookups, restore: () => void ((dns as { lookup: unknown }).lookup = realLookup) };
}

test('an unresolvable daemon host: no throw, counted, and a send after the pause retries the lookup', async () => {
  const daemon = await listen();
  const host = 'xray-daemon-test.invalid';
  const dnsHook = flakyHost(host);
  const emitter = new UdpEmitter({ host, port: daemon.port }, 100, 0, 50);
  try {
    assert.doesNotThrow(() => {
      emitter.send(datagram(1));
      emitter.send(datagram(2));
    });
    await emitter.flush();
    assert.equal(dnsHook.lookups(), 1);
    assert.equal(emitter.stats.sent, 0);
    assert.ok(emitter.stats.failed >= 2, `both queued datagrams counted as failed (${JSON.stringify(emitter.stats)})`);
    assert.equal(emitter.busy, false);

    // Within the pause: dropped and counted, no new lookup.
    emitter.send(datagram(9));
    assert.equal(emitter.stats.droppedDaemonDown, 1);
    assert.equal(dnsHook.lookups(), 1);
    await sleep(60);
    emitter.send(datagram(3));
    await emitter.flush();
    assert.equal(dnsHook.lookups(), 2, 'a send after the pause looked the host up again');
    assert.equal(emitter.stats.sent, 1);
    assert.deepEqual(await daemon.waitFor(1), [datagram(3)]);
  } finally {
    dnsHook.restore();
    emitter.close();
    await daemon.close();
  }
});

test('connectNow() with an unresolvable host: no throw, and the first send retries', async () => {
  const daemon = await listen();
  const host = 'xray-daemon-eager.invalid';
  const dnsHook = flakyHost(host);
  const emitter = new UdpEmitter({ host, port: daemon.port }, 100, 0, 50);
  try {
    assert.doesNotThrow(() => emitter.connectNow());
    const deadline = Date.now() + 3000;
    while (emitter.stats.failed === 0 && Date.now() < deadline) await sleep(5);
    assert.equal(emitter.stats.failed, 1, 'the failed lookup was counted');
    await sleep(60);
    emitter.send(datagram(7));
    await emitter.flush();
    assert.equal(dnsHook.lookups(), 2);
    assert.equal(emitter.stats.sent, 1);
    assert.deepEqual(await daemon.waitFor(1), [datagram(7)]);
  } finally {
    dnsHook.restore();
    emitter.close();
    await daemon.close();
  }
});

test('an unresolvable daemon host with the real resolver: never throws, counted every time, looked up once per pause', async () => {
  const emitter = new UdpEmitter({ host: 'nonexistent.invalid', port: 2000 }, 100);
  let lookups = 0;
  const realLookup = dns.lookup;
  (dns as { lookup: unknown }).lookup = (...args: unknown[]) => {
    if (args[0] === 'nonexistent.invalid') lookups++;
    return Reflect.apply(realLookup, dns, args);
  };
  try {
    emitter.send(datagram(1));
    await emitter.flush();
    const afterFirst = emitter.stats.failed;
    assert.ok(afterFirst >= 1);
    // Every document of the next moments is dropped and counted, without a lookup each.
    for (let i = 0; i < 20; i++) emitter.send(datagram(2));
    await emitter.flush();
    assert.equal(emitter.stats.droppedDaemonDown, 20);
    assert.equal(lookups, 1, 'one lookup, not one per document');
    assert.equal(emitter.stats.sent, 0);
  } finally {
    (dns as { lookup: unknown }).lookup = realLookup;
    emitter.close();
  }
});

for (const batchMs of [0, 1000]) {
test(`the socket does not keep the process alive (batchMs ${batchMs})`, async () => {
  const port = await closedPort();
  const modulePath = join(__dirname, '..', '..', 'agent', 'export', 'udp-emitter.js');
  const script =
    `const { UdpEmitter } = require(${JSON.stringify(modulePath)});` +
    `const e = new UdpEmitter({ host: '127.0.0.1', port: ${port} }, 10, ${batchMs});` +
    // Sent once connected, so it waits in a burst behind the (unref'd) burst timer.
    `e.connectNow(); setTimeout(() => e.send('{"format":"json","version":1}\\n{}'), 50);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const started = Date.now();
  const result = await Promise.race([
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
    sleep(2000).then(() => 'timeout' as const),
  ]);
  if (result === 'timeout') child.kill('SIGKILL');
  assert.notEqual(result, 'timeout', `the child was still running after 2 s; stderr: ${stderr}`);
  assert.deepEqual(result, { code: 0, signal: null }, stderr);
  assert.ok(Date.now() - started < 2000);
});
}
