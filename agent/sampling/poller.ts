// The background half of centralized sampling (spec §4.4): fetches rules (at start, then every
// 300 s + 0–5 s) and exchanges statistics for targets (every 10 s + 0–100 ms), feeding the
// CentralizedSampler. Started lazily by the sampler's first decision. Its timers and sockets are
// unref'd (it never keeps the process alive) and every failure ends here: logged (first one at
// warn, the rest at debug, recovery at info), never thrown. The schedule is fixed: a failing proxy
// is retried at the normal pace, no backoff, so recovery is noticed within one interval.

import { run } from '../context';
import { log } from '../log';
import { parseRuleRecords } from './centralized-rules';
import type { CentralizedSampler } from './centralized-sampler';
import type { ProxyClient } from './daemon-proxy-client';
import type { Clock } from './reservoir';
import { setTimeout, clearTimeout } from '../timers';

export const DEFAULT_RULES_POLL_MS = 300_000;
export const DEFAULT_TARGETS_POLL_MS = 10_000;
/** Pages of GetSamplingRules followed per fetch (the API pages at an undocumented size). */
export const DEFAULT_MAX_RULE_PAGES = 10;

/** The spec's jitter at the default intervals; shorter (test) intervals get proportionally less. */
const RULES_JITTER_MAX_MS = 5_000;
const TARGETS_JITTER_MAX_MS = 100;

export interface TimerApi {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface SamplingPollerOptions {
  rulesPollMs?: number;
  targetsPollMs?: number;
  maxRulePages?: number;
  /** Milliseconds since the epoch; must be the sampler's clock. Default `Date.now`. */
  now?: Clock;
  /** Uniform in [0, 1), for jitter. Default `Math.random`. */
  random?: () => number;
  /** Default: Node's timers, unref'd. Tests pass their own. */
  timers?: TimerApi;
}

const NODE_TIMERS: TimerApi = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

export class SamplingPoller {
  private readonly rulesPollMs: number;
  private readonly targetsPollMs: number;
  private readonly maxRulePages: number;
  private readonly now: Clock;
  private readonly random: () => number;
  private readonly timers: TimerApi;

  private started = false;
  private stopped = false;
  private rulesTimer: unknown;
  private targetsTimer: unknown;
  private rulesInFlight: Promise<boolean> | undefined;
  private targetsInFlight: Promise<void> | undefined;
  /** Health of the proxy as last seen: drives the warn-once / debug / info-on-recovery logging. */
  private failing = false;
  private warned = false;
  /** The LastRuleModification that already triggered an early refresh (guards against clock skew loops). */
  private refreshedForModification = -Infinity;

  constructor(
    private readonly sampler: CentralizedSampler,
    private readonly client: ProxyClient,
    opts: SamplingPollerOptions = {},
  ) {
    this.rulesPollMs = opts.rulesPollMs ?? DEFAULT_RULES_POLL_MS;
    this.targetsPollMs = opts.targetsPollMs ?? DEFAULT_TARGETS_POLL_MS;
    this.maxRulePages = opts.maxRulePages ?? DEFAULT_MAX_RULE_PAGES;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.timers = opts.timers ?? NODE_TIMERS;
  }

  /**
   * Schedules the first rule fetch (immediately, but on a timer: the caller is a sampling
   * decision, which must do no I/O) and the targets loop. Idempotent; a stopped poller stays
   * stopped.
   */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    // The first decision runs inside an incoming request's context; timers created there would
    // carry that request's segment for the life of the process. Schedule from an empty context.
    run(undefined, () => {
      this.rulesTimer = this.timers.setTimeout(() => this.rulesTick(), 0);
      this.scheduleTargets();
    });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.timers.clearTimeout(this.rulesTimer);
    this.timers.clearTimeout(this.targetsTimer);
    try {
      this.client.close();
    } catch {
      // Closing is best effort; the sockets are unref'd anyway.
    }
  }

  /**
   * Fetches every page of rules and installs them in the sampler. Resolves true on success;
   * never rejects. Concurrent calls share the fetch in flight.
   */
  pollRules(): Promise<boolean> {
    if (this.rulesInFlight === undefined) {
      this.rulesInFlight = this.fetchRules().finally(() => (this.rulesInFlight = undefined));
    }
    return this.rulesInFlight;
  }

  /**
   * Reports statistics and applies the targets that come back (skipped when no rule has anything
   * to report). Resolves when done; never rejects.
   */
  pollTargets(): Promise<void> {
    if (this.targetsInFlight === undefined) {
      this.targetsInFlight = this.exchangeTargets().finally(() => (this.targetsInFlight = undefined));
    }
    return this.targetsInFlight;
  }

  // ---- schedule ----------------------------------------------------------------------------

  private rulesTick(): void {
    if (this.stopped) return;
    // The next fetch is scheduled when this one settles, so fetches never overlap, even when the
    // proxy hangs for the whole timeout and the (test) interval is shorter.
    void this.pollRules().then(() => this.scheduleRules());
  }

  private scheduleRules(): void {
    if (this.stopped) return;
    this.timers.clearTimeout(this.rulesTimer);
    const jitter = this.random() * Math.min(RULES_JITTER_MAX_MS, this.rulesPollMs / 60);
    this.rulesTimer = this.timers.setTimeout(() => this.rulesTick(), this.rulesPollMs + jitter);
  }

  private scheduleTargets(): void {
    if (this.stopped) return;
    const jitter = this.random() * Math.min(TARGETS_JITTER_MAX_MS, this.targetsPollMs / 100);
    this.targetsTimer = this.timers.setTimeout(() => {
      if (this.stopped) return;
      void this.pollTargets().then(() => this.scheduleTargets());
    }, this.targetsPollMs + jitter);
  }

  // ---- the two exchanges -------------------------------------------------------------------

  private async fetchRules(): Promise<boolean> {
    try {
      const records: unknown[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await this.client.getSamplingRules(token);
        if (this.stopped) return false;
        for (const r of page.records) records.push(r);
        pages++;
        // A token that repeats would loop forever on a buggy proxy; treat it as the last page.
        token = page.nextToken !== undefined && page.nextToken !== token ? page.nextToken : undefined;
      } while (token !== undefined && pages < this.maxRulePages);
      if (token !== undefined) {
        log.once('centralized.pages', 'warn', `centralized sampling: more than ${this.maxRulePages} pages of sampling rules; using the rules of the first ${this.maxRulePages}`);
      }
      const { rules, dropped } = parseRuleRecords(records);
      for (const d of dropped) {
        log.once(`centralized.dropped.${d.name}.${d.reason}`, 'info', `centralized sampling: rule ${JSON.stringify(d.name)} ignored: ${d.reason}`);
      }
      this.sampler.setRules(rules, this.now());
      this.succeeded();
      if (log.enabled('debug')) log.debug('centralized sampling: rules fetched', { rules: rules.map((r) => r.name), pages });
      return true;
    } catch (err) {
      this.failed(err);
      return false;
    }
  }

  private async exchangeTargets(): Promise<void> {
    try {
      const now = this.now();
      // Half a tick of slack: a timer that fires a hair early still reports a rule whose Interval
      // equals the poll period.
      const docs = this.sampler.snapshotStatistics(now, this.targetsPollMs / 2);
      if (docs.length === 0) return;
      // Counters snapshotted here are lost if the call fails (as in the SDKs): re-adding them would
      // double-count when the proxy processed the request but the answer got lost.
      const res = await this.client.getSamplingTargets(docs);
      if (this.stopped) return;
      this.sampler.applyTargets(res.targets);
      this.succeeded();
      if (res.invalidTargets > 0) {
        log.debug(`centralized sampling: ${res.invalidTargets} target document(s) with wrong types ignored`);
      }
      for (const u of res.unprocessed) {
        log.once(
          `centralized.unprocessed.${u.ruleName}.${u.errorCode}`,
          'warn',
          `centralized sampling: statistics for rule ${JSON.stringify(u.ruleName)} not processed (${u.errorCode}${u.message ? `: ${u.message}` : ''})`,
        );
      }
      // The service says rules changed after our last fetch: fetch now instead of waiting up to
      // 5 minutes. Each modification time triggers at most one early fetch, so a local clock that
      // runs behind the service's does not turn this into a fetch every 10 s.
      const mod = res.lastRuleModification;
      if (mod !== undefined && mod * 1000 > this.sampler.lastRuleFetchMs && mod !== this.refreshedForModification) {
        this.refreshedForModification = mod;
        log.debug('centralized sampling: rules changed on the service; fetching them now');
        this.timers.clearTimeout(this.rulesTimer);
        await this.pollRules();
        this.scheduleRules();
      }
    } catch (err) {
      this.failed(err);
    }
  }

  // ---- health logging ----------------------------------------------------------------------

  private succeeded(): void {
    if (!this.failing) return;
    this.failing = false;
    log.info(`centralized sampling: daemon proxy at ${this.client.label} reachable again; using centralized rules`);
  }

  private failed(err: unknown): void {
    if (this.stopped) return; // a request aborted by stop() is not a failure worth a line
    this.failing = true;
    const reason = err instanceof Error ? err.message : String(err);
    // While the last rules are still fresh they go on deciding; say when local rules take over.
    let tail = '';
    if (this.sampler.hasFreshRules()) {
      const left = Math.max(0, Math.round((this.sampler.lastRuleFetchMs + this.sampler.rulesTtlMs - this.now()) / 1000));
      tail = ` when the last fetched rules expire (in ${left} s)`;
    }
    const msg = `centralized sampling: daemon proxy at ${this.client.label} not reachable (${reason}); using local rules${tail}`;
    // No daemon is a normal set-up (local development): one warning, then quiet.
    if (!this.warned) {
      this.warned = true;
      log.warn(msg);
    } else {
      log.debug(msg);
    }
  }
}
