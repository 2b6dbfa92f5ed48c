// A per-second reservoir: lets through up to `perSecond` requests in each wall-clock second,
// before a rule's `rate` applies (spec §4.2). The local sampler uses one per rule with
// perSecond = fixed_target; centralized sampling can reuse it for the quota it gets from
// GetSamplingTargets (by updating `perSecond`) and, with perSecond = 1, for "borrowing".

/** Milliseconds since the epoch; `Date.now` in production, a fake in tests. */
export type Clock = () => number;

export class Reservoir {
  /**
   * Requests allowed per second. Mutable on purpose: centralized sampling replaces it when a new
   * quota arrives, without losing what was already taken in the current second.
   */
  perSecond: number;

  private readonly now: Clock;
  /** The integer epoch second `taken` belongs to; -1 before the first take. */
  private second = -1;
  private taken = 0;

  constructor(perSecond: number, now: Clock = Date.now) {
    this.perSecond = perSecond;
    this.now = now;
  }

  /**
   * Takes one request from this second's budget. Returns false when the budget is spent (or
   * zero). `nowMs` lets a caller that already read the clock for this decision pass it in, so a
   * decision reads the clock at most once.
   */
  take(nowMs?: number): boolean {
    // A zero budget never needs the clock: the common "fixed_target: 0" rule stays free.
    if (!(this.perSecond > 0)) return false;
    // Spec §4.2 Agent rule: floor, not round (the Node SDK rounds, which shifts the second by half).
    const second = Math.floor((nowMs ?? this.now()) / 1000);
    if (second !== this.second) {
      // Any change of second resets, including the clock stepping backwards.
      this.second = second;
      this.taken = 0;
    }
    if (this.taken < this.perSecond) {
      this.taken++;
      return true;
    }
    return false;
  }

  /** How many requests were taken in the second of `nowMs` (for stats and tests). */
  takenIn(nowMs: number): number {
    return Math.floor(nowMs / 1000) === this.second ? this.taken : 0;
  }
}
