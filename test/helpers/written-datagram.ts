// Transports of recorders in the test process get each datagram as a writer (export/burst-buffer.ts);
// this gives them the text the daemon would receive.

import type { DatagramWriter } from '../../agent/export/burst-buffer';

const scratch = Buffer.alloc(65536);

/** The datagram `write` puts down in at most `limit` bytes, as text; undefined when it does not fit. */
export function writtenDatagram<T>(write: DatagramWriter<T>, item: T, limit: number): string | undefined {
  const end = write(scratch, 0, Math.min(limit, scratch.length), item);
  return end < 0 ? undefined : scratch.toString('utf8', 0, end);
}
