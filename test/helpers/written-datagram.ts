// Transports of recorders in the test process get each datagram as a writer (export/burst-buffer.ts);
// this keeps the text the daemon would receive.

import type { DatagramSink } from '../../agent/export/serializer';

const scratch = Buffer.alloc(65536);

/** A `sendWritten` that pushes each datagram's text onto `datagrams`; false (nothing kept) when it does not fit. */
export function collectInto(datagrams: string[]): DatagramSink['sendWritten'] {
  return (write, item, limit) => {
    const end = write(scratch, 0, Math.min(limit, scratch.length), item);
    if (end < 0) return false;
    datagrams.push(scratch.toString('utf8', 0, end));
    return true;
  };
}
