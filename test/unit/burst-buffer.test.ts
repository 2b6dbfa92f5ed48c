// The burst buffer: datagrams come out byte for byte and in order; a full buffer refuses the next
// datagram whole; a buffer the socket may still be reading is never written again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUFFER_BYTES, BurstBuffer, writeText } from '../../agent/export/burst-buffer';

/** Appends a datagram given as text, with the whole buffer as its limit; whether it was written. */
function add(b: BurstBuffer, text: string): boolean {
  return b.write(writeText, text, BUFFER_BYTES) === 'written';
}

function drainAll(b: BurstBuffer, reusable: boolean): { datagrams: string[]; lastFlags: boolean[]; views: Buffer[] } {
  const datagrams: string[] = [];
  const lastFlags: boolean[] = [];
  const views: Buffer[] = [];
  b.drain(
    (buffer, offset, length, last) => {
      const view = buffer.subarray(offset, offset + length);
      views.push(view);
      datagrams.push(view.toString('utf8'));
      lastFlags.push(last);
    },
    () => reusable,
  );
  return { datagrams, lastFlags, views };
}

test('datagrams come out byte for byte, in order, the last one marked', () => {
  const b = new BurstBuffer();
  const input = ['{"format":"json","version":1}\n{"name":"a"}', '{"format":"json","version":1}\n{"name":"é✓ 𝄞"}', 'x'];
  for (const d of input) assert.equal(add(b, d), true);
  assert.equal(b.count, 3);
  const out = drainAll(b, true);
  assert.deepEqual(out.datagrams, input);
  assert.deepEqual(out.lastFlags, [false, false, true]);
  assert.equal(b.count, 0);
  assert.deepEqual(drainAll(b, true).datagrams, [], 'drained');
});

test('a datagram that does not fit is refused whole; the largest UDP datagram fits an empty buffer', () => {
  const b = new BurstBuffer();
  const big = 'ü'.repeat(15000); // 30,000 bytes
  assert.equal(add(b, big), true);
  assert.equal(add(b, big), true);
  assert.equal(add(b, big), false, '90,000 bytes do not fit');
  assert.equal(b.count, 2);
  assert.deepEqual(drainAll(b, true).datagrams, [big, big]);
  assert.equal(add(b, 'a'.repeat(65507)), true);
  assert.equal(b.count, 1);
});

test('a buffer the socket still holds is not written again; a released one is reused', () => {
  const b = new BurstBuffer();
  add(b, 'first burst');
  const held = drainAll(b, false).views[0]!; // as if the socket queued it (not sent yet)
  add(b, 'second burst, longer than the first');
  assert.equal(held.toString('utf8'), 'first burst', 'the queued datagram is intact');
  const released = drainAll(b, true).views[0]!;
  add(b, 'third');
  assert.equal(released.buffer, drainAll(b, true).views[0]!.buffer, 'same memory reused once released');
});

test('clear() forgets what waits and says how many', () => {
  const b = new BurstBuffer();
  add(b, 'a');
  add(b, 'b');
  assert.equal(b.clear(), 2);
  assert.equal(b.count, 0);
  add(b, 'c');
  assert.deepEqual(drainAll(b, true).datagrams, ['c']);
});

test('write(): a datagram put down by a writer within its limit; full (may fit an emptier buffer) or too large, nothing kept', () => {
  const b = new BurstBuffer();
  const limits: number[] = [];
  const writer = (buffer: Buffer, at: number, limit: number, text: string): number => {
    limits.push(limit - at);
    return writeText(buffer, at, limit, text);
  };
  assert.equal(b.write(writer, 'x'.repeat(40000), 65507), 'written');
  assert.equal(limits.at(-1), 65507, 'an empty buffer offers the whole limit');
  assert.equal(b.write(writer, 'y'.repeat(30000), 65507), 'full', 'fits the limit, not what is left');
  assert.equal(limits.at(-1), 65536 - 40000, 'offered what is left');
  assert.equal(b.write(writer, 'z'.repeat(2000), 1000), 'tooLarge', 'over the limit, with room for the limit');
  assert.equal(b.write(writer, 'ok', 1000), 'written');
  assert.equal(b.count, 2);
  assert.deepEqual(drainAll(b, true).datagrams, ['x'.repeat(40000), 'ok'], 'the refused ones left nothing behind');
  assert.equal(b.write(writer, 'y'.repeat(30000), 65507), 'written', 'fits once emptied');
});
