// Finished segments wait here for the end of the current turn of the event loop, then are
// serialized and handed to the emitter together (one setImmediate per turn, however many requests
// ended in it).
//
// Why: a busy server handles every ready connection in one turn. Serializing each segment right
// where its response closed puts the agent's work between one response's write and the next
// request's, so a client waiting on several connections gets its responses spread out, falls
// asleep between them, and every response write then has to wake it (on loopback that wake-up is
// paid inside the server's own write). Moved to the end of the turn, the responses of a turn leave
// back to back. Measured on the plain-app bench, side by side: ~1.2 µs less CPU per traced request
// and +0.02× throughput, the same work done in another place.
//
// Nothing else changes: the segment's end time was taken when it closed, it is marked sent at once
// (so the recorder's bookkeeping is the same as for an immediate send), flush() and process exit
// drain the queue synchronously, and in Lambda (where the process may freeze as soon as the handler
// returns) the recorder does not use this queue at all.

import { run } from '../context';
import { setImmediate } from '../timers';

export class EndOfTurnQueue<T> {
  private items: T[] = [];
  private scheduled = false;
  private readonly drainNow = (): void => this.drain();

  constructor(private readonly handle: (item: T) => void) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    this.items.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    // Scheduled outside any request's context: the immediate must not keep one segment alive or
    // run our work inside the app's context.
    run(undefined, () => setImmediate(this.drainNow));
  }

  /** Handles everything queued so far, now. An immediate still pending then finds nothing to do. */
  drain(): void {
    this.scheduled = false;
    const items = this.items;
    if (items.length === 0) return;
    this.items = [];
    for (let i = 0; i < items.length; i++) {
      try {
        this.handle(items[i]!);
      } catch {
        // `handle` logs its own failures; one bad item must not cost the others.
      }
    }
  }
}
