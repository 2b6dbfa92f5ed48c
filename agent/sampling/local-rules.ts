// Parsing and validation of a local sampling rules document (spec §4.2). Pure: no logging, no
// state. The sampler decides what to do with an error (log once, fall back to the default).
//
// Accepted input:
//   * an object (already parsed, e.g. from the agent's JSON config file),
//   * a string starting with `{` (after leading whitespace): inline JSON text,
//   * any other string: a file path, read synchronously (relative paths resolve against the cwd).
//     Reading once at start-up is fine; this never runs per request.

import { readFileSync } from 'node:fs';

/** Per-second reservoir plus rate: what every rule (and the default) decides with. */
export interface LocalTarget {
  /** Requests sampled per second (per process) before `rate` applies. Non-negative integer. */
  readonly fixedTarget: number;
  /** Probability, 0..1, of sampling a request once the second's fixed target is used up. */
  readonly rate: number;
}

export interface LocalRule extends LocalTarget {
  /** Wildcard pattern for the Host header (v2 `host`, or v1 `service_name`). */
  readonly host: string;
  /** Wildcard pattern for the HTTP method. */
  readonly httpMethod: string;
  /** Wildcard pattern for the URL path (matched without its query string). */
  readonly urlPath: string;
  readonly description?: string;
}

export interface LocalRuleSet {
  readonly version: 1 | 2;
  /** In file order: the first rule that matches wins. */
  readonly rules: readonly LocalRule[];
  /** Used when no rule matches. */
  readonly defaultRule: LocalTarget;
}

export type LocalRulesResult =
  | { rules: LocalRuleSet; error?: undefined }
  | { rules?: undefined; error: string };

/**
 * The built-in rules used when none are configured or the configured ones are invalid: one
 * request per second plus 5 % of the rest, as in every X-Ray SDK. Kept in code (not a JSON file)
 * so it cannot go missing from a package.
 */
export const BUILT_IN_RULES: LocalRuleSet = Object.freeze({
  version: 2,
  rules: Object.freeze([]) as readonly LocalRule[],
  defaultRule: Object.freeze({ fixedTarget: 1, rate: 0.05 }),
});

/** Keys a rule may carry besides its host key, which depends on the version. */
const RULE_KEYS = new Set(['description', 'http_method', 'url_path', 'fixed_target', 'rate']);
/** Matching keys that make no sense in `default`, which matches every request. */
const MATCH_KEYS = new Set(['host', 'service_name', 'http_method', 'url_path']);

/** Thrown inside this module only, to carry a one-line reason up to `parseLocalRules`. */
class RulesError extends Error {}

/**
 * Parses and validates local sampling rules. Never throws. The error is one line naming where the
 * rules came from and what is wrong, e.g.
 * `sampling rules file /etc/rules.json: rules[1].rate: must be a number from 0 to 1 (got 1.5)`.
 */
export function parseLocalRules(source: string | object): LocalRulesResult {
  let label = 'sampling rules object';
  try {
    let doc: unknown = source;
    if (typeof source === 'string') {
      const text = source.trimStart();
      if (text.startsWith('{')) {
        label = 'inline sampling rules';
        doc = parseJson(text);
      } else {
        if (source.trim() === '') throw new RulesError('empty: expected a file path or inline JSON');
        label = `sampling rules file ${source}`;
        let content: string;
        try {
          content = readFileSync(source, 'utf8');
        } catch (err) {
          throw new RulesError(`cannot read: ${oneLine(errorMessage(err))}`);
        }
        doc = parseJson(content);
      }
    }
    return { rules: validateDocument(doc) };
  } catch (err) {
    const reason = err instanceof RulesError ? err.message : `unexpected error: ${oneLine(errorMessage(err))}`;
    return { error: `${label}: ${reason}` };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RulesError(`invalid JSON: ${oneLine(errorMessage(err))}`);
  }
}

function validateDocument(doc: unknown): LocalRuleSet {
  if (!isPlainObject(doc)) throw new RulesError(`must be a JSON object (got ${describe(doc)})`);
  // Unknown top-level keys are ignored (neither SDK rejects them); only rule-level keys are strict.
  const version = doc.version;
  if (version !== 1 && version !== 2) {
    throw new RulesError(
      version === undefined ? 'version: missing (must be 1 or 2)' : `version: must be 1 or 2 (got ${describe(version)})`,
    );
  }
  if (doc.default === undefined) throw new RulesError('default: missing (an object with fixed_target and rate)');
  const defaultRule = validateDefault(doc.default);

  const rules: LocalRule[] = [];
  if (doc.rules !== undefined) {
    if (!Array.isArray(doc.rules)) throw new RulesError(`rules: must be an array (got ${describe(doc.rules)})`);
    for (let i = 0; i < doc.rules.length; i++) rules.push(validateRule(doc.rules[i], i, version));
  }
  return Object.freeze({ version, rules: Object.freeze(rules), defaultRule });
}

function validateDefault(value: unknown): LocalTarget {
  if (!isPlainObject(value)) throw new RulesError(`default: must be an object (got ${describe(value)})`);
  for (const key of Object.keys(value)) {
    if (MATCH_KEYS.has(key)) {
      throw new RulesError(`default.${key}: not allowed (the default rule matches every request)`);
    }
    // `description` is harmless and useful in a file; anything else is likely a typo.
    if (key !== 'fixed_target' && key !== 'rate' && key !== 'description') {
      throw new RulesError(`default.${key}: unknown key (allowed: fixed_target, rate, description)`);
    }
  }
  return Object.freeze({
    fixedTarget: validateFixedTarget(value.fixed_target, 'default.fixed_target'),
    rate: validateRate(value.rate, 'default.rate'),
  });
}

function validateRule(value: unknown, index: number, version: 1 | 2): LocalRule {
  const at = `rules[${index}]`;
  if (!isPlainObject(value)) throw new RulesError(`${at}: must be an object (got ${describe(value)})`);
  // v1 called the host pattern `service_name`; both SDKs match it against the Host header.
  const hostKey = version === 1 ? 'service_name' : 'host';
  const otherHostKey = version === 1 ? 'host' : 'service_name';
  for (const key of Object.keys(value)) {
    if (key === hostKey || RULE_KEYS.has(key)) continue;
    if (key === otherHostKey) {
      throw new RulesError(`${at}.${key}: not allowed in version ${version} (use ${hostKey})`);
    }
    throw new RulesError(
      `${at}.${key}: unknown key (allowed: ${hostKey}, http_method, url_path, fixed_target, rate, description)`,
    );
  }
  const description = value.description;
  if (description !== undefined && typeof description !== 'string') {
    throw new RulesError(`${at}.description: must be a string (got ${describe(description)})`);
  }
  const rule: LocalRule = {
    host: validatePattern(value[hostKey], `${at}.${hostKey}`),
    httpMethod: validatePattern(value.http_method, `${at}.http_method`),
    urlPath: validatePattern(value.url_path, `${at}.url_path`),
    fixedTarget: validateFixedTarget(value.fixed_target, `${at}.fixed_target`),
    rate: validateRate(value.rate, `${at}.rate`),
    ...(description !== undefined ? { description } : {}),
  };
  return Object.freeze(rule);
}

function validatePattern(value: unknown, at: string): string {
  if (value === undefined) throw new RulesError(`${at}: missing (required; use "*" to match anything)`);
  // An empty pattern would only ever match requests without that attribute; the Node SDK rejects
  // it too, so it is almost certainly a mistake.
  if (typeof value !== 'string' || value === '') {
    throw new RulesError(`${at}: must be a non-empty string pattern (got ${describe(value)})`);
  }
  return value;
}

function validateFixedTarget(value: unknown, at: string): number {
  if (value === undefined) throw new RulesError(`${at}: missing (required)`);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new RulesError(`${at}: must be a non-negative integer (got ${describe(value)})`);
  }
  return value;
}

function validateRate(value: unknown, at: string): number {
  if (value === undefined) throw new RulesError(`${at}: missing (required)`);
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new RulesError(`${at}: must be a number from 0 to 1 (got ${describe(value)})`);
  }
  return value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A short, single-line rendering of a bad value for error messages. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') {
    const s = JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
    return `string ${s}`;
  }
  return String(v);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}
