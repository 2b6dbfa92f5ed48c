// The centralized sampler (spec §4.4): decides from the rules and targets the poller last fetched
// from the daemon's proxy, and falls back to the local sampler while it has no fresh rules. It owns
// the per-rule state (counters, quota, borrowing) and turns counters into statistics documents.
// No timers, no I/O: the poller (./poller) feeds it, so `decide` only ever reads memory.

import { newClientId } from '../model/ids';
import { type CentralizedRule, ruleMatches } from './centralized-rules';
import type { Clock } from './reservoir';
import type { Sampler, SamplingDecision, SamplingRequest } from './types';

/** One entry of `POST /SamplingTargets` (spec §2.3), exactly as sent. */
export interface SamplingStatisticsDocument {
  RuleName: string;
  ClientID: string;
  RequestCount: number;
  SampledCount: number;
  BorrowCount: number;
  /** Epoch SECONDS (integer). */
  Timestamp: number;
}

/** A validated `SamplingTargetDocument` (the proxy client checks the types). */
export interface SamplingTarget {
  ruleName: string;
  fixedRate: number;
  /** Requests per second this client may sample for the rule; 0 is a real quota ("none for you"). */
  reservoirQuota?: number;
  /** Epoch SECONDS at which the quota stops being valid (the Node SDK wrongly reads milliseconds). */
  reservoirQuotaTtl?: number;
  /** Seconds between statistics reports the service wants for this rule. */
  interval?: number;
}

export interface CentralizedSamplerOptions {
  /** Decides whenever there are no fresh centralized rules, or none matched. */
  local: Sampler;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: Clock;
  /** Uniform in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Rules are used for this long after the last successful fetch (spec: 1 h). */
  rulesTtlMs?: number;
  /** 24 hex characters. Default: 12 random bytes, once per sampler (= per process). */
  clientId?: string;
  /** Called once, synchronously, on the first `decide` (the lazy start of spec §4.4). Must not throw or do I/O. */
  onFirstDecide?: () => void;
  /** Called by `close()` (stops the poller). */
  onClose?: () => void;
}

export const DEFAULT_RULES_TTL_MS = 3_600_000;

const NOT_SAMPLED: SamplingDecision = Object.freeze({ sampled: false });

/** Mutable per-rule state. Survives a rule refresh when the rule keeps its name (spec §4.4 "merge"). */
interface RuleState {
  rule: CentralizedRule;
  /** Shared frozen answer carrying the rule name, so a positive decision allocates nothing. */
  readonly sampled: SamplingDecision;
  /** Starts as the rule's FixedRate; replaced by each target's FixedRate. */
  rate: number;
  /** ReservoirSize > 0: may borrow one request per second while it has no valid quota. */
  canBorrow: boolean;
  requestCount: number;
  sampledCount: number;
  borrowCount: number;
  /** Assigned quota per second; -1 = none assigned yet. */
  quota: number;
  /** The quota is valid while now < this (ms). */
  quotaExpiresMs: number;
  /** The integer epoch second the two counters below belong to. */
  second: number;
  takenThisSecond: number;
  borrowedThisSecond: number;
  /** Report statistics at most this often; 0 = on every targets poll. From the target's Interval. */
  reportIntervalMs: number;
  lastReportMs: number;
}

export class CentralizedSampler implements Sampler {
  /**
   * Made on first use (the first targets report), not at construction: the sampler is built by a
   * timer right after start-up, and the random bytes would load node:crypto there (~5 ms, which in
   * an ES module app lands in the middle of loading the app's modules).
   */
  get clientId(): string {
    return (this.clientIdValue ??= newClientId());
  }
  private clientIdValue: string | undefined;
  private readonly local: Sampler;
  private readonly now: Clock;
  private readonly random: () => number;
  /** How long fetched rules stay in use after their fetch. */
  readonly rulesTtlMs: number;
  private onFirstDecide: (() => void) | undefined;
  private readonly onClose: (() => void) | undefined;

  /** In evaluation order. Replaced as a whole on refresh, never mutated in place. */
  private states: RuleState[] = [];
  private byName = new Map<string, RuleState>();
  /** Time of the last successful rule fetch (ms); -1 = never. */
  private fetchedAtMs = -1;

  constructor(opts: CentralizedSamplerOptions) {
    this.local = opts.local;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.rulesTtlMs = opts.rulesTtlMs ?? DEFAULT_RULES_TTL_MS;
    this.clientIdValue = opts.clientId;
    this.onFirstDecide = opts.onFirstDecide;
    this.onClose = opts.onClose;
  }

  decide(req: SamplingRequest): SamplingDecision {
    if (this.onFirstDecide !== undefined) this.firstDecide();
    const nowMs = this.now();
    // Never fetched, or expired (proxy gone for longer than the TTL): the local rules decide, so
    // there is no gap in tracing while the daemon is absent.
    if (this.fetchedAtMs < 0 || nowMs - this.fetchedAtMs >= this.rulesTtlMs) return this.local.decide(req);
    const states = this.states;
    for (let i = 0; i < states.length; i++) {
      const s = states[i]!;
      if (ruleMatches(s.rule, req)) return this.decideFor(s, nowMs);
    }
    // Only reachable when the service sent no Default rule (it always does): same as no rules.
    return this.local.decide(req);
  }

  close(): void {
    this.onFirstDecide = undefined;
    try {
      this.onClose?.();
    } finally {
      this.local.close?.();
    }
  }

  /** True while rules from a successful fetch are in use. */
  hasFreshRules(nowMs: number = this.now()): boolean {
    return this.fetchedAtMs >= 0 && nowMs - this.fetchedAtMs < this.rulesTtlMs;
  }

  /** Time (ms) of the last successful rule fetch, -1 if none. */
  get lastRuleFetchMs(): number {
    return this.fetchedAtMs;
  }

  /** The rule names in evaluation order (for tests and `doctor`). */
  ruleNames(): string[] {
    return this.states.map((s) => s.rule.name);
  }

  /**
   * Installs the rules of a successful fetch (already validated and ordered). A rule that keeps its
   * name keeps its counters, quota and report interval (its rate goes back to the new FixedRate
   * until the next target, as in the SDKs); rules that disappeared are forgotten with their
   * unreported counts.
   */
  setRules(rules: readonly CentralizedRule[], nowMs: number = this.now()): void {
    const states: RuleState[] = [];
    const byName = new Map<string, RuleState>();
    for (const rule of rules) {
      const old = this.byName.get(rule.name);
      let s: RuleState;
      if (old !== undefined) {
        s = old;
        s.rule = rule;
        s.rate = rule.fixedRate;
        s.canBorrow = rule.reservoirSize > 0;
      } else {
        s = {
          rule,
          sampled: Object.freeze({ sampled: true, ruleName: rule.name }),
          rate: rule.fixedRate,
          canBorrow: rule.reservoirSize > 0,
          requestCount: 0,
          sampledCount: 0,
          borrowCount: 0,
          quota: -1,
          quotaExpiresMs: 0,
          second: -1,
          takenThisSecond: 0,
          borrowedThisSecond: 0,
          reportIntervalMs: 0,
          lastReportMs: nowMs,
        };
      }
      states.push(s);
      byName.set(rule.name, s);
    }
    // Swapped in whole: a decision in progress can never see half a rule set (and none can be in
    // progress anyway, this is single-threaded).
    this.states = states;
    this.byName = byName;
    this.fetchedAtMs = nowMs;
  }

  /**
   * Snapshots and resets the counters of every rule that saw requests and whose report interval
   * has elapsed (spec §4.4 target poller steps 1–2). `slackMs` lets a poll that fires a little
   * before the interval is up still report (timer jitter). Rules without requests are not
   * reported: the service keeps their last quota until its TTL.
   */
  snapshotStatistics(nowMs: number = this.now(), slackMs = 0): SamplingStatisticsDocument[] {
    const docs: SamplingStatisticsDocument[] = [];
    const timestamp = Math.floor(nowMs / 1000);
    for (const s of this.states) {
      if (s.requestCount === 0) continue;
      if (s.reportIntervalMs > 0 && nowMs - s.lastReportMs < s.reportIntervalMs - slackMs) continue;
      docs.push({
        RuleName: s.rule.name,
        ClientID: this.clientId,
        RequestCount: s.requestCount,
        SampledCount: s.sampledCount,
        BorrowCount: s.borrowCount,
        Timestamp: timestamp,
      });
      s.requestCount = 0;
      s.sampledCount = 0;
      s.borrowCount = 0;
      s.lastReportMs = nowMs;
    }
    return docs;
  }

  /**
   * Applies `SamplingTargetDocuments` (spec §4.4 step 3): the rate always; quota, TTL and interval
   * when present. A quota of 0 is applied (the Node SDK ignores it). Targets for unknown rules are
   * ignored. Returns how many were applied.
   */
  applyTargets(targets: readonly SamplingTarget[]): number {
    let applied = 0;
    for (const t of targets) {
      const s = this.byName.get(t.ruleName);
      if (s === undefined) continue;
      s.rate = t.fixedRate;
      if (t.reservoirQuota !== undefined) s.quota = t.reservoirQuota;
      // Seconds on the wire (spec §2.3); kept in ms like every other time here.
      if (t.reservoirQuotaTtl !== undefined) s.quotaExpiresMs = t.reservoirQuotaTtl * 1000;
      if (t.interval !== undefined) s.reportIntervalMs = t.interval * 1000;
      applied++;
    }
    return applied;
  }

  private firstDecide(): void {
    const start = this.onFirstDecide;
    this.onFirstDecide = undefined;
    try {
      start?.();
    } catch {
      // Starting the poller must never cost the request its decision; local rules go on deciding.
    }
  }

  /** Spec §4.4 "decision for a matched rule", reading the clock once per decision. */
  private decideFor(s: RuleState, nowMs: number): SamplingDecision {
    s.requestCount++;
    const second = Math.floor(nowMs / 1000);
    if (second !== s.second) {
      s.second = second;
      s.takenThisSecond = 0;
      s.borrowedThisSecond = 0;
    }
    if (s.quota >= 0 && nowMs < s.quotaExpiresMs) {
      // A fresh quota from the service: this client's share of the rule's reservoir.
      if (s.takenThisSecond < s.quota) {
        s.takenThisSecond++;
        s.sampledCount++;
        return s.sampled;
      }
    } else if (s.canBorrow && s.borrowedThisSecond < 1) {
      // No quota yet (or it expired): borrow one request per second so a new client traces
      // something before the service has heard of it.
      s.borrowedThisSecond++;
      s.borrowCount++;
      // Counted in SampledCount too (spec §10.9): the API defines SampledCount as all requests
      // recorded and BorrowCount as the subset recorded on borrowed quota (as OTel JS does). The
      // X-Ray SDKs count a borrow only in BorrowCount, which under-reports what was recorded.
      s.sampledCount++;
      return s.sampled;
    }
    // `<` with random() in [0, 1): rate 0 never samples, rate 1 always does.
    if (this.random() < s.rate) {
      s.sampledCount++;
      return s.sampled;
    }
    return NOT_SAMPLED;
  }
}
