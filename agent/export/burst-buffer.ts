// The datagrams of one burst, encoded as they arrive into one buffer outside the JS heap.
//
// Why not keep the strings until the burst leaves: a datagram waiting a few milliseconds outlives
// several young-generation collections at a few thousand requests per second, and V8 answers
// survivors by growing the young generation (measured on the plain-app bench: +24 MiB of RSS, up to
// its 32 MiB maximum). Encoded here, each string is garbage as soon as it is written; the encoding
// itself is the one `socket.send(string)` would do anyway.

/** Any single datagram (≤ 65,507 bytes, spec §2.1) fits into an empty buffer. */
const BUFFER_BYTES = 65536;

export class BurstBuffer {
  private buffer = Buffer.allocUnsafeSlow(BUFFER_BYTES);
  private used = 0;
  /** End offset of each datagram, in order; datagram i spans ends[i-1] (or 0) .. ends[i]. */
  private ends: number[] = [];

  get count(): number {
    return this.ends.length;
  }

  /** Appends one datagram; false (nothing written) when it does not fit into what is left. */
  add(datagram: string): boolean {
    const room = BUFFER_BYTES - this.used;
    // A UTF-16 unit is at most 3 UTF-8 bytes: short strings need no byte count at all.
    if (datagram.length * 3 > room && Buffer.byteLength(datagram) > room) return false;
    this.used += this.buffer.write(datagram, this.used);
    this.ends.push(this.used);
    return true;
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
