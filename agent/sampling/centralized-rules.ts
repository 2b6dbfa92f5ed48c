// The rule model of centralized sampling (spec §4.4): turning `GetSamplingRules` records into
// validated rules, ordering them, and matching a request against one. Pure: no state, no I/O, no
// logging. The sampler (./centralized-sampler) keeps per-rule counters; the poller decides what to
// log about dropped rules.

import type { SamplingRequest } from './types';
import { matchAttribute } from './wildcard';

/** The service's built-in catch-all rule: matches every request and is always evaluated last. */
export const DEFAULT_RULE_NAME = 'Default';

/** One accepted `SamplingRule`, reduced to what the agent matches and decides with. */
export interface CentralizedRule {
  readonly name: string;
  /** Lower is evaluated first. `Default` is last whatever its priority says. */
  readonly priority: number;
  /** Probability, 0..1, once the reservoir (quota or borrow) is used up. */
  readonly fixedRate: number;
  /** Requests per second the service spreads across all clients; > 0 allows borrowing. */
  readonly reservoirSize: number;
  // Wildcard patterns (spec §4.3); "*" when the record omits them.
  readonly serviceName: string;
  readonly serviceType: string;
  readonly host: string;
  readonly httpMethod: string;
  readonly urlPath: string;
  /** Always "*" once accepted (the agent records no AWS resources it could match otherwise). */
  readonly resourceArn: string;
  /** `name === "Default"`: matches everything (spec §4.4), kept so matching needs no string compare. */
  readonly isDefault: boolean;
}

export interface DroppedRule {
  /** The RuleName when it could be read, else a placeholder such as `#3`. */
  readonly name: string;
  readonly reason: string;
}

export interface ParsedRules {
  /** Accepted rules in evaluation order (see compareRules). */
  readonly rules: CentralizedRule[];
  readonly dropped: DroppedRule[];
}

/**
 * Validates `SamplingRuleRecords` entries (the `SamplingRule` inside each record) and returns the
 * accepted rules in evaluation order. Never throws; a bad record drops that rule only, so one odd
 * rule never costs the others. Acceptance follows the spec §4.4 Agent rule:
 *   Version === 1; ResourceARN === "*" (a rule for a specific resource can never match what this
 *   agent records); Attributes absent or empty (the agent has no request attributes to match, and
 *   a rule that only applies with them must not catch requests that lack them); RuleName non-empty;
 *   Priority, FixedRate (0..1), ReservoirSize (>= 0) numeric; missing ServiceName / ServiceType /
 *   Host / HTTPMethod / URLPath mean "*". A rule name seen twice (pages overlapping) keeps the first.
 */
export function parseRuleRecords(records: readonly unknown[]): ParsedRules {
  const rules: CentralizedRule[] = [];
  const dropped: DroppedRule[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < records.length; i++) {
    const r = parseRuleRecord(records[i], i);
    if ('reason' in r) {
      dropped.push(r);
    } else if (seen.has(r.name)) {
      dropped.push({ name: r.name, reason: 'duplicate RuleName (the first one is kept)' });
    } else {
      seen.add(r.name);
      rules.push(r);
    }
  }
  rules.sort(compareRules);
  return { rules, dropped };
}

/** One `SamplingRuleRecord` (`{ SamplingRule: {...}, CreatedAt, ModifiedAt }`) → rule or reason. */
export function parseRuleRecord(record: unknown, index = 0): CentralizedRule | DroppedRule {
  const placeholder = `#${index}`;
  if (!isObject(record)) return { name: placeholder, reason: `record is ${describe(record)}, not an object` };
  const rule = record['SamplingRule'];
  if (!isObject(rule)) return { name: placeholder, reason: `SamplingRule is ${describe(rule)}, not an object` };

  const name = rule['RuleName'];
  if (typeof name !== 'string' || name === '') {
    return { name: placeholder, reason: `RuleName is ${describe(name)}, not a non-empty string` };
  }
  const drop = (reason: string): DroppedRule => ({ name, reason });

  if (rule['Version'] !== 1) return drop(`unsupported Version ${describe(rule['Version'])} (only 1 is supported)`);
  if (rule['ResourceARN'] !== '*') {
    return drop(`ResourceARN ${describe(rule['ResourceARN'])} is not "*" (rules for specific resources never match here)`);
  }
  const attributes = rule['Attributes'];
  if (attributes !== undefined && attributes !== null) {
    if (!isObject(attributes)) return drop(`Attributes is ${describe(attributes)}, not an object`);
    if (Object.keys(attributes).length > 0) return drop('Attributes are not supported (rules with attributes are dropped)');
  }

  const priority = rule['Priority'];
  if (!isFiniteNumber(priority)) return drop(`Priority is ${describe(priority)}, not a number`);
  const fixedRate = rule['FixedRate'];
  if (!isFiniteNumber(fixedRate) || fixedRate < 0 || fixedRate > 1) {
    return drop(`FixedRate is ${describe(fixedRate)}, not a number from 0 to 1`);
  }
  const reservoirSize = rule['ReservoirSize'];
  if (!isFiniteNumber(reservoirSize) || reservoirSize < 0) {
    return drop(`ReservoirSize is ${describe(reservoirSize)}, not a number >= 0`);
  }

  const patterns: string[] = [];
  for (const key of PATTERN_KEYS) {
    const v = rule[key];
    if (v === undefined || v === null) patterns.push('*');
    else if (typeof v === 'string') patterns.push(v);
    else return drop(`${key} is ${describe(v)}, not a string pattern`);
  }

  return Object.freeze({
    name,
    priority,
    fixedRate,
    reservoirSize,
    serviceName: patterns[0]!,
    serviceType: patterns[1]!,
    host: patterns[2]!,
    httpMethod: patterns[3]!,
    urlPath: patterns[4]!,
    resourceArn: '*',
    isDefault: name === DEFAULT_RULE_NAME,
  });
}

const PATTERN_KEYS = ['ServiceName', 'ServiceType', 'Host', 'HTTPMethod', 'URLPath'] as const;

/**
 * Evaluation order (spec §4.4): `Default` last, then Priority ascending, ties by RuleName in
 * code-unit order (not locale order, so every process on every host agrees).
 */
export function compareRules(a: CentralizedRule, b: CentralizedRule): number {
  if (a.isDefault !== b.isDefault) return a.isDefault ? 1 : -1;
  if (a.priority !== b.priority) return a.priority - b.priority;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Does `rule` apply to `req`? Every field must match its request attribute with the wildcard rules
 * of spec §4.3; a request attribute that is missing or empty matches (spec §4.1 "implicit match").
 * `Default` matches everything. ResourceARN needs no check: only "*" rules are accepted.
 * Allocation-free: called for each rule on every new trace until one matches.
 */
export function ruleMatches(rule: CentralizedRule, req: SamplingRequest): boolean {
  return (
    rule.isDefault ||
    (matchAttribute(rule.urlPath, req.urlPath) &&
      matchAttribute(rule.httpMethod, req.method) &&
      matchAttribute(rule.host, req.host) &&
      matchAttribute(rule.serviceName, req.serviceName) &&
      matchAttribute(rule.serviceType, req.serviceType))
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** A short, single-line rendering of a bad value for a log line (service text is untrusted). */
function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  return String(v);
}
