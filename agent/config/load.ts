// Turns SCHEMA + environment + optional JSON file into one validated AgentConfig.
//
// Precedence: defaults < JSON file (AWS_XRAY_AGENT_CONFIG) < environment (DESIGN §5).
// Contract (DESIGN §4 rule 7):
//   * a bad value never stops the agent: the next valid source wins and one warning names the
//     key, the bad value and the value actually used;
//   * a config file that cannot be read or parsed stops the agent: { error } naming the file;
//   * the loader never logs (the bootstrap must set the log level from this very config
//     first) and never throws, whatever the input.
// It is on the start-up path of every process, so it reads at most two files (the config file
// and, only when no name is configured, package.json files) and loads nothing heavy.

import { readFileSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import type { LogLevel } from '../log';
import { DEFAULT_DAEMON, parseDaemonAddress, type DaemonEndpoints } from './daemon-address';
import { cleanName, sanitizeName } from '../model/names';
import {
  CONFIG_FILE_ENV,
  defaultServiceName,
  SCHEMA,
  type ConfigValue,
  type ContextMissing,
  type DefaultContext,
  type SamplingRulesSource,
  type AwsWhitelistSource,
  type SchemaEntry,
  type SchemaKey,
} from './schema';

export interface AgentConfig {
  enabled: boolean;
  serviceName: string;
  /** The address string in effect (validated), as written by the user or the default. */
  daemonAddress: string;
  /** `daemonAddress` parsed. */
  daemon: DaemonEndpoints;
  contextMissing: ContextMissing;
  logLevel: LogLevel;
  /** undefined = built-in rules. A string is a file path (not read here); the sampler validates both. */
  samplingRules: SamplingRulesSource | undefined;
  centralizedSampling: boolean;
  /** Test-only timings of centralized sampling (defaults: spec §4.4). */
  samplingRulesPollMs: number;
  samplingTargetsPollMs: number;
  samplingRulesTtlMs: number;
  plugins: string;
  elasticBeanstalkConfigFile: string;
  eksServiceAccountDir: string;
  /** undefined = not configured (aws.eks.cluster_name left out). */
  eksClusterName: string | undefined;
  /** Lower-cased, de-duplicated short names. Not checked against the registry here. */
  disabledInstrumentations: string[];
  collectSqlQueries: boolean;
  captureQueryString: boolean;
  streamingThreshold: number;
  maxStackFrames: number;
  maxDatagramBytes: number;
  segmentFlushTimeoutMs: number;
  /** Lambda: bounded wait for pending sends before the handler's result is released; 0 = no wrapping. */
  lambdaFlushTimeoutMs: number;
  responseTraceHeader: boolean;
  downstreamTraced: boolean;
  routeAnnotation: boolean;
  middlewareSubsegments: boolean;
  maxQueuedSends: number;
  sendBatchMs: number;
  maxOpenSegments: number;
  maxSubsegmentsPerSegment: number;
  /** undefined = built-in whitelist. A string is a file path (read on the first AWS call, not here). */
  awsWhitelist: AwsWhitelistSource | undefined;
}

// Compile-time guard: the interface and the schema must list exactly the same keys.
type SameKeys<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const schemaMatchesInterface: SameKeys<SchemaKey, Exclude<keyof AgentConfig, 'daemon'>> = true;
void schemaMatchesInterface;

/** Where the value in effect came from; for `xray-agent doctor`. */
export type ConfigSource = 'default' | 'file' | 'env' | 'override';

export interface LoadedConfig {
  config: AgentConfig;
  /** Ready-to-log lines, one per problem. */
  warnings: string[];
  sources: Record<SchemaKey, ConfigSource>;
  /** Absolute path of the config file that was read, if any. */
  configFile?: string;
}

/** Most unknown-key warnings reported for one file; the rest are summarised in one line. */
const MAX_UNKNOWN_KEY_WARNINGS = 20;
const SHOW_MAX = 100;

export function loadConfig(env: NodeJS.ProcessEnv, cwd?: string): LoadedConfig | { error: string } {
  try {
    return load(env && typeof env === 'object' ? env : {}, typeof cwd === 'string' ? cwd : safeCwd());
  } catch (e) {
    // Only reachable through a bug in this module; staying off is the safe answer.
    return { error: `internal error while loading the agent configuration: ${oneLine(e)}` };
  }
}

function load(env: NodeJS.ProcessEnv, cwd: string): LoadedConfig | { error: string } {
  const warnings: string[] = [];
  const file = readConfigFile(env, cwd);
  if ('error' in file) return file;
  // Paths are shown bare in warnings unless they would break the one-line format.
  const fileLabel = file.path && /[\u0000-\u001f"]/.test(file.path) ? JSON.stringify(file.path) : (file.path ?? '');

  if (file.data) warnings.push(...unknownKeyWarnings(file.data, fileLabel));

  const ctx: DefaultContext = { env, cwd };
  const values: Record<string, ConfigValue> = {};
  const sources = {} as Record<SchemaKey, ConfigSource>;

  for (const entry of SCHEMA as readonly SchemaEntry[]) {
    const r = resolveEntry(entry, env, file.data, fileLabel, ctx);
    values[entry.key] = r.value;
    sources[entry.key as SchemaKey] = r.source;
    warnings.push(...r.warnings);
  }

  const named = checkServiceName(values['serviceName'] as string, sources.serviceName, ctx);
  values['serviceName'] = named.value;
  if (named.warning !== undefined) warnings.push(named.warning);

  const parsed = parseDaemonAddress(values['daemonAddress'] as string);
  // Cannot fail (the value was validated with the same parser); defaults keep it total anyway.
  const daemon = 'error' in parsed ? { udp: { ...DEFAULT_DAEMON }, tcp: { ...DEFAULT_DAEMON } } : parsed;

  const config = { ...values, daemon } as unknown as AgentConfig;
  return file.path ? { config, warnings, sources, configFile: file.path } : { config, warnings, sources };
}

// ---- config file ---------------------------------------------------------------------------

type FileResult = { path?: string; data?: Record<string, unknown> } | { error: string };

function readConfigFile(env: NodeJS.ProcessEnv, cwd: string): FileResult {
  const named = env[CONFIG_FILE_ENV];
  if (typeof named !== 'string' || named.trim() === '') return {};
  const filePath = resolve(cwd, named.trim());
  const where = `config file ${JSON.stringify(filePath)} (${CONFIG_FILE_ENV})`;

  let text: string;
  try {
    text = readFileSync(filePath, 'utf8');
  } catch (e) {
    return { error: `cannot read ${where}: ${oneLine(e)}` };
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // editors on Windows add a BOM

  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { error: `${where} is not valid JSON: ${oneLine(e)}` };
  }
  if (!isPlainObject(data)) {
    return { error: `${where} must contain a JSON object at the top level, not ${jsonKind(data)}` };
  }
  return { path: filePath, data };
}

function unknownKeyWarnings(data: Record<string, unknown>, fileLabel: string): string[] {
  const out: string[] = [];
  const entries = SCHEMA as readonly SchemaEntry[];
  const unknown = Object.keys(data).filter((k) => !entries.some((e) => e.key === k));
  for (const key of unknown.slice(0, MAX_UNKNOWN_KEY_WARNINGS)) {
    // Common slips: wrong case, or the env var name used as a JSON key.
    const hint = entries.find((e) => e.key.toLowerCase() === key.toLowerCase() || e.env === key);
    out.push(
      `${fileLabel}: unknown key ${JSON.stringify(truncate(key))} ignored` +
        (hint ? ` (did you mean "${hint.key}"?)` : ''),
    );
  }
  if (unknown.length > MAX_UNKNOWN_KEY_WARNINGS) {
    out.push(`${fileLabel}: ${unknown.length - MAX_UNKNOWN_KEY_WARNINGS} more unknown keys ignored`);
  }
  return out;
}

// ---- one key -------------------------------------------------------------------------------

interface Resolved {
  value: ConfigValue;
  source: ConfigSource;
  warnings: string[];
}

interface Bad {
  label: string;
  shown: string;
  reason: string;
}

function resolveEntry(
  entry: SchemaEntry,
  env: NodeJS.ProcessEnv,
  fileData: Record<string, unknown> | undefined,
  fileLabel: string,
  ctx: DefaultContext,
): Resolved {
  const bad: Bad[] = [];
  let value: ConfigValue;
  let source: ConfigSource | undefined;

  // Highest precedence first; every source is still validated so that each bad value is reported.
  if (entry.override) {
    const raw = env[entry.override.env];
    if (typeof raw === 'string' && raw.trim() !== '') {
      const v = entry.override.value(raw);
      if (v !== undefined) {
        value = v;
        source = 'override';
      }
    }
  }
  if (entry.env) {
    const raw = env[entry.env];
    // An empty variable counts as unset (`FOO=` in compose files and shells means "no value").
    if (typeof raw === 'string' && raw.trim() !== '') {
      const p = parseValue(entry, raw);
      if (!p.ok) bad.push({ label: entry.env, shown: showBad(raw), reason: p.reason });
      else if (!source) {
        value = p.value;
        source = 'env';
      }
    }
  }
  if (fileData && Object.prototype.hasOwnProperty.call(fileData, entry.key)) {
    const raw = fileData[entry.key];
    const p = parseValue(entry, raw);
    if (!p.ok) bad.push({ label: `${fileLabel}: ${entry.key}`, shown: showBad(raw), reason: p.reason });
    else if (!source) {
      value = p.value;
      source = 'file';
    }
  }
  if (!source) {
    value = typeof entry.default === 'function' ? entry.default(ctx) : entry.default;
    source = 'default';
  }

  const used = showUsed(value, source, entry);
  // File problems first, then env: the order a user reads their setup in.
  const warnings = bad.reverse().map((b) => `${b.label}=${b.shown} ${b.reason}; using ${used}`);
  return { value: cloneValue(value), source, warnings };
}

/**
 * The service name as X-Ray will show it (spec §1.3: characters outside its allowlist are removed,
 * 200 characters at most): a name the user gave that changes says so, and one with nothing left
 * gives way to the default name instead of a nameless "service".
 */
function checkServiceName(value: string, source: ConfigSource, ctx: DefaultContext): { value: string; warning?: string } {
  const clean = cleanName(value);
  if (clean === value) return { value };
  const label = source === 'env' ? 'AWS_XRAY_TRACING_NAME' : 'serviceName';
  if (clean !== '') return { value: clean, warning: `${label}=${JSON.stringify(value)} has characters X-Ray does not allow in a name; using ${JSON.stringify(clean)}` };
  const fallback = sanitizeName(defaultServiceName(ctx.cwd), 'unknown');
  return { value: fallback, warning: `${label}=${JSON.stringify(value)} has no character X-Ray allows in a name (letters, digits, spaces, _ . : / % & # = + \\ - @); using ${JSON.stringify(fallback)}` };
}

// ---- value parsers, one per schema type ----------------------------------------------------

type Parsed = { ok: true; value: ConfigValue } | { ok: false; reason: string };

const TRUE_WORDS = new Set(['true', '1', 'yes', 'y', 'on', 't']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'n', 'off', 'f']);

/** `raw` is an env string or any JSON value from the file. */
function parseValue(entry: SchemaEntry, raw: unknown): Parsed {
  switch (entry.type) {
    case 'boolean':
      return parseBoolean(raw);
    case 'integer':
      return parseInteger(raw, entry.min, entry.max);
    case 'string':
      return typeof raw === 'string' && raw.trim() !== ''
        ? { ok: true, value: raw.trim() }
        : { ok: false, reason: 'is not a non-empty string' };
    case 'enum':
      return parseEnum(raw, entry.enum ?? []);
    case 'list':
      return parseList(raw);
    case 'daemonAddress':
      return parseDaemon(raw);
    case 'rules':
      return parseDocument(raw, 'rules');
    case 'whitelist':
      return parseDocument(raw, 'whitelist');
  }
}

function parseBoolean(raw: unknown): Parsed {
  if (typeof raw === 'boolean') return { ok: true, value: raw };
  // A JSON file may say 1 or 0, as the environment may.
  if (raw === 1 || raw === 0) return { ok: true, value: raw === 1 };
  if (typeof raw === 'string') {
    const w = raw.trim().toLowerCase();
    if (TRUE_WORDS.has(w)) return { ok: true, value: true };
    if (FALSE_WORDS.has(w)) return { ok: true, value: false };
  }
  return { ok: false, reason: 'is not a boolean (true/false, 1/0, yes/no, on/off)' };
}

function parseInteger(raw: unknown, min: number | undefined, max: number | undefined): Parsed {
  let n = NaN;
  if (typeof raw === 'number') n = raw;
  // Plain decimal only: "1e3", "0x10", "1.0", "" would all be accepted by Number().
  else if (typeof raw === 'string' && /^[+-]?[0-9]+$/.test(raw.trim())) n = Number(raw.trim());
  const ok = Number.isSafeInteger(n) && (min === undefined || n >= min) && (max === undefined || n <= max);
  if (ok) return { ok: true, value: n };
  const range =
    min !== undefined && max !== undefined
      ? ` between ${min} and ${max}`
      : min !== undefined
        ? ` >= ${min}`
        : max !== undefined
          ? ` <= ${max}`
          : '';
  return { ok: false, reason: `is not an integer${range}` };
}

function parseEnum(raw: unknown, allowed: readonly string[]): Parsed {
  if (typeof raw === 'string') {
    const w = raw.trim().toLowerCase();
    const hit = allowed.find((a) => a.toLowerCase() === w);
    if (hit !== undefined) return { ok: true, value: hit };
  }
  return { ok: false, reason: `is not one of ${allowed.join(', ')}` };
}

/** "a, b c" or ["a", "b"] -> ["a", "b"]: trimmed, lower-cased, empties dropped, de-duplicated. */
function parseList(raw: unknown): Parsed {
  let items: string[] | undefined;
  if (typeof raw === 'string') items = [raw];
  else if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) items = raw as string[];
  if (!items) return { ok: false, reason: 'is not a list of names (a comma/space separated string or an array of strings)' };
  const out = new Set<string>();
  for (const item of items) {
    for (const name of item.split(/[\s,]+/)) if (name !== '') out.add(name.toLowerCase());
  }
  return { ok: true, value: [...out] };
}

function parseDaemon(raw: unknown): Parsed {
  if (typeof raw !== 'string') return { ok: false, reason: 'is not a daemon address string' };
  const r = parseDaemonAddress(raw);
  return 'error' in r
    ? { ok: false, reason: `is not a valid daemon address (${r.error})` }
    : { ok: true, value: raw.trim() };
}

/**
 * A path (kept as given; its user — the sampler, the AWS span builder — reads and validates the
 * file) or a document (`what`: rules, whitelist): an object in the JSON file, or inline JSON text
 * starting with "{" (or "[", to report it clearly).
 */
function parseDocument(raw: unknown, what: string): Parsed {
  if (isPlainObject(raw)) return { ok: true, value: raw };
  if (typeof raw !== 'string' || raw.trim() === '') {
    return { ok: false, reason: `is not a ${what} file path or a JSON ${what} object` };
  }
  const text = raw.trim();
  if (text[0] !== '{' && text[0] !== '[') return { ok: true, value: text };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `is not valid inline JSON (${oneLine(e)})` };
  }
  return isPlainObject(doc)
    ? { ok: true, value: doc }
    : { ok: false, reason: `is not a JSON ${what} object (found ${jsonKind(doc)})` };
}

// ---- helpers -------------------------------------------------------------------------------

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

function truncate(s: string): string {
  return s.length > SHOW_MAX ? s.slice(0, SHOW_MAX) + '…' : s;
}

/** A bad value for a warning: strings quoted and escaped (one line, no log injection). */
function showBad(raw: unknown): string {
  if (typeof raw === 'string') return JSON.stringify(truncate(raw));
  // File values: their JSON text, so `-1` and `"-1"` read differently.
  let text: string;
  try {
    text = JSON.stringify(raw) ?? String(raw);
  } catch {
    text = String(raw);
  }
  return truncate(text);
}

/** The value in effect, for the "; using X" tail of a warning. */
function showUsed(v: ConfigValue, source: ConfigSource, entry: SchemaEntry): string {
  if (v === undefined) return entry.defaultDoc ?? 'the default';
  if (Array.isArray(v)) return v.length === 0 ? 'none' : truncate(v.join(','));
  if (typeof v === 'object') return `the ${entry.type} object from ${source === 'env' ? entry.env : 'the config file'}`;
  return truncate(String(v));
}

/** Fresh arrays so a caller mutating its config cannot change a schema default. */
function cloneValue(v: ConfigValue): ConfigValue {
  return Array.isArray(v) ? [...(v as readonly string[])] : v;
}

function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

function safeCwd(): string {
  try {
    return process.cwd();
  } catch {
    return sep; // the cwd was deleted: no package.json to find; name falls back to "unknown"
  }
}

// ---- README table --------------------------------------------------------------------------

/** The configuration table for the README, generated so docs cannot drift from the schema. */
export function configTableMarkdown(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const rows = [
    '| env | JSON key | default | meaning |',
    '| --- | --- | --- | --- |',
    `| \`${CONFIG_FILE_ENV}\` | – | none | path of the JSON config file (relative to the cwd) |`,
  ];
  for (const e of SCHEMA as readonly SchemaEntry[]) {
    const envCell = [e.env, e.override?.env].filter(Boolean).map((n) => `\`${n}\``).join(' / ') || '–';
    rows.push(`| ${envCell} | \`${e.key}\` | ${cell(defaultCell(e))} | ${cell(e.doc)} |`);
  }
  return rows.join('\n') + '\n';
}

function defaultCell(e: SchemaEntry): string {
  if (e.defaultDoc) return e.defaultDoc;
  const d = e.default;
  if (typeof d === 'function' || d === undefined) return 'computed';
  if (Array.isArray(d)) return d.length === 0 ? 'none' : `\`${d.join(',')}\``;
  if (typeof d === 'object') return 'object';
  return `\`${String(d)}\``;
}
