// The local sampler: rules from a file, inline JSON or an object (spec §4.2), else the built-in
// 1 request/s + 5 %. Also the fallback of centralized sampling while it has no fresh rules.

import { log } from '../log';
import { BUILT_IN_RULES, parseLocalRules, type LocalRuleSet, type LocalTarget } from './local-rules';
import { Reservoir, type Clock } from './reservoir';
import type { Sampler, SamplingDecision, SamplingRequest } from './types';
import { matchAttribute } from './wildcard';

export interface LocalSamplerOptions {
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: Clock;
  /** Uniform in [0, 1). Default `Math.random`. */
  random?: () => number;
}

// Shared, frozen answers: `decide` allocates nothing. Local decisions carry no ruleName (only
// centralized rules are named in the segment).
const SAMPLED: SamplingDecision = Object.freeze({ sampled: true });
const NOT_SAMPLED: SamplingDecision = Object.freeze({ sampled: false });

/** A rule plus its own reservoir: each rule's fixed_target is counted separately. */
interface ActiveRule {
  readonly host: string;
  readonly httpMethod: string;
  readonly urlPath: string;
  readonly rate: number;
  readonly reservoir: Reservoir;
}

/**
 * Creates the local sampler. `source` is what `samplingRules` / AWS_XRAY_SAMPLING_RULES holds:
 * undefined or an empty string means "not configured" (built-in default, silently); anything else
 * is parsed, and if it is invalid ONE error line names the source and the reason and the built-in
 * default is used, so a bad rules file never stops tracing or the app.
 */
export function createLocalSampler(source: string | object | undefined, opts: LocalSamplerOptions = {}): Sampler {
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  const ruleSet = resolveRules(source);

  const rules: ActiveRule[] = ruleSet.rules.map((r) => ({
    host: r.host,
    httpMethod: r.httpMethod,
    urlPath: r.urlPath,
    rate: r.rate,
    reservoir: new Reservoir(r.fixedTarget, now),
  }));
  const fallback = activeTarget(ruleSet.defaultRule, now);
  const count = rules.length;

  function apply(rule: { readonly rate: number; readonly reservoir: Reservoir }): SamplingDecision {
    // Reservoir first (guaranteed traces this second), then the rate for everything beyond it.
    // With random() in [0, 1): rate 0 never samples, rate 1 always does.
    return rule.reservoir.take() || random() < rule.rate ? SAMPLED : NOT_SAMPLED;
  }

  return {
    decide(req: SamplingRequest): SamplingDecision {
      // First match in file order wins (spec §4.2). `req.urlPath` is already stripped of its query
      // string by the caller (spec §4.1 Agent rule). serviceName / serviceType are not part of
      // local rules. A missing or empty attribute matches (matchAttribute).
      for (let i = 0; i < count; i++) {
        const r = rules[i]!;
        if (
          matchAttribute(r.host, req.host) &&
          matchAttribute(r.httpMethod, req.method) &&
          matchAttribute(r.urlPath, req.urlPath)
        ) {
          return apply(r);
        }
      }
      return apply(fallback);
    },
  };
}

function activeTarget(t: LocalTarget, now: Clock): { readonly rate: number; readonly reservoir: Reservoir } {
  return { rate: t.rate, reservoir: new Reservoir(t.fixedTarget, now) };
}

function resolveRules(source: string | object | undefined): LocalRuleSet {
  if (source === undefined || (typeof source === 'string' && source.trim() === '')) return BUILT_IN_RULES;
  const result = parseLocalRules(source);
  if (result.error !== undefined) {
    log.error(`${result.error}; using the built-in sampling default (1 request/s + 5 %)`);
    return BUILT_IN_RULES;
  }
  return result.rules;
}
