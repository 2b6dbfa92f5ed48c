// The datagrams of one burst, written as they arrive into one buffer outside the JS heap: by a
// writer that puts the bytes there itself (the serializer's documents, export/entity-json.ts), or
// encoded from a string.
//
// Why not keep strings until the burst leaves: a datagram waiting a few milliseconds outlives
// several young-generation collections at a few thousand requests per second, and V8 answers
// survivors by growing the young generation (measured on the plain-app bench: +24 MiB of RSS, up to
// its 32 MiB maximum). Written here, nothing of a datagram stays on the JS heap.

/** The OS refuses larger IPv4 UDP payloads (spec §2.1); no configuration may exceed it. */
export const MAX_UDP_PAYLOAD = 65507;

/** Any single datagram (≤ MAX_UDP_PAYLOAD) fits into an empty buffer. */
export const BUFFER_BYTES = 65536;

/**
 * Writes one datagram made from `item` into `buffer` from `at`, using no byte at or past `limit`;
 * returns the offset after its last byte, or -1 when it does not fit (nothing is kept then).
 */
export type DatagramWriter<T> = (buffer: Buffer, at: number, limit: number, item: T) => number;

/** The writer of a datagram given as a string. */
export function writeText(buffer: Buffer, at: number, limit: number, text: string): number {
  const room = limit - at;
  // A UTF-16 unit is at most 3 UTF-8 bytes: short strings need no byte count at all.
  if (text.length * 3 > room && Buffer.byteLength(text) > room) return -1;
  return at + buffer.write(text, at, room, 'utf8');
}

export class BurstBuffer {
  private buffer = Buffer.allocUnsafeSlow(BUFFER_BYTES);
  private used = 0;
  /** End offset of each datagram, in order; datagram i spans ends[i-1] (or 0) .. ends[i]. */
  private ends: number[] = [];

  get count(): number {
    return this.ends.length;
  }

  /**
   * Appends the datagram `write` puts down, in at most `limit` bytes. 'full': it may fit into an
   * emptier buffer; 'tooLarge': it does not fit into `limit` bytes (the buffer had room for that).
   * Either way nothing is kept. Throws what `write` throws.
   */
  write<T>(write: DatagramWriter<T>, item: T, limit: number): 'written' | 'full' | 'tooLarge' {
    const room = BUFFER_BYTES - this.used;
    const end = write(this.buffer, this.used, this.used + Math.min(limit, room), item);
    if (end < 0) return room < limit ? 'full' : 'tooLarge';
    this.used = end;
    this.ends.push(end);
    return 'written';
  }

  /** Forgets the waiting datagrams (the socket is gone); returns how many. */
  clear(): number {
    const dropped = this.ends.length;
    this.ends = [];
    this.used = 0;
    return dropped;
  }

  /**
   * Hands every datagram to `send` (buffer, offset, length), in order, and empties the burst.
   * `reusable` is asked afterwards: when the socket still holds some of them (its queue was full),
   * the next burst is written into a new buffer so that theirs stays intact until sent.
   */
  drain(send: (buffer: Buffer, offset: number, length: number, last: boolean) => void, reusable: () => boolean): void {
    const { buffer, ends } = this;
    this.ends = [];
    this.used = 0;
    let start = 0;
    try {
      for (let i = 0; i < ends.length; i++) {
        send(buffer, start, ends[i]! - start, i === ends.length - 1);
        start = ends[i]!;
      }
    } finally {
      if (!reusable()) this.buffer = Buffer.allocUnsafeSlow(BUFFER_BYTES);
    }
  }
}
