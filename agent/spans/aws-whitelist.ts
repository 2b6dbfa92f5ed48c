// The AWS call whitelist (spec §8.2, §8.3): which request and response parameters of which service
// operation an AWS subsegment records, and under which `aws.*` key. Loaded on the first AWS call
// (never at start-up): the built-in data file (aws-whitelist.json, shipped in dist next to this
// file), or the document the `awsWhitelist` setting names, which REPLACES it. A replacement that
// cannot be read or has the wrong shape is reported once and the built-in one is used.
//
// The document format is the one the AWS X-Ray SDKs use, so their whitelist files work as is:
//   { "services": { "<lower-cased v3 service name>": { "operations": { "<lowerCamel op>": {
//       "request_parameters": ["TableName"], "request_descriptors": { "RequestItems": {...} },
//       "response_parameters": [...], "response_descriptors": {...} } } } } }
// It is compiled into per-operation lists with the output keys already snake_cased, so a call costs
// one Map lookup and a walk over the few parameters of its operation. The built-in document is
// compiled one service at a time, when that service is first called (all of it costs ~1 ms, paid in
// a Lambda function's first invocation); a configured replacement is compiled whole, up front, so a
// mistake in it is reported at once.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { normalizeMetadataValue } from '../model/attributes';
import builtIn from './aws-whitelist.json';

/** How one parameter is turned into a recorded value. */
const enum Take {
  Value,
  /** `list` + `get_count`: the array's length. */
  Count,
  /** `map` + `get_keys`: the object's keys. */
  Keys,
}

interface Extract {
  readonly param: string;
  readonly key: string;
  readonly take: Take;
}

/** What one operation records: each function copies its whitelisted parameters into `aws`. */
export interface CompiledOperation {
  readonly request: (params: unknown, aws: Record<string, unknown>) => void;
  readonly response: (data: unknown, aws: Record<string, unknown>) => void;
}

/** service key (lower-cased) → operation key → what to record. */
export interface CompiledWhitelist {
  get(service: string): ReadonlyMap<string, CompiledOperation> | undefined;
  has(service: string): boolean;
}

/** A recorded object value (e.g. `ConsumedCapacity`) is copied JSON-safe within this budget. */
const OBJECT_VALUE_BUDGET = 4096;

/**
 * `snake_case` of an AWS parameter name with the two regexes of the Python SDK (spec §8.2), which
 * keep acronyms together: `QueueUrl` → `queue_url`, `QueueOwnerAWSAccountId` →
 * `queue_owner_aws_account_id`, `IPAddress` → `ip_address`.
 */
export function snakeCase(name: string): string {
  return name
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/**
 * Loads the whitelist: `source` undefined → the built-in one; a string → a JSON file (relative to
 * `cwd`); an object → the document itself. `warning` says why a configured one was not used.
 */
export function loadWhitelist(source: string | Record<string, unknown> | undefined, cwd: string): { whitelist: CompiledWhitelist; warning?: string } {
  if (source === undefined) return { whitelist: builtInWhitelist() };
  let doc: unknown = source;
  let where = 'the inline awsWhitelist document';
  if (typeof source === 'string') {
    const file = resolve(cwd, source);
    where = `awsWhitelist file ${JSON.stringify(file)}`;
    try {
      doc = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
    } catch (err) {
      return { whitelist: builtInWhitelist(), warning: `${where} cannot be used (${oneLine(err)}); using the built-in AWS whitelist` };
    }
  }
  const compiled = compileWhitelist(doc);
  if (typeof compiled === 'string') {
    return { whitelist: builtInWhitelist(), warning: `${where} is not a valid whitelist (${compiled}); using the built-in AWS whitelist` };
  }
  return { whitelist: compiled };
}

/** The built-in document, each service compiled on its first lookup (the document is valid: a unit test compiles all of it). */
function builtInWhitelist(): CompiledWhitelist {
  const entries = new Map<string, unknown>();
  for (const [service, entry] of Object.entries((builtIn as { services: Record<string, unknown> }).services)) entries.set(service.toLowerCase(), entry);
  const compiled = new Map<string, ReadonlyMap<string, CompiledOperation>>();
  const none: ReadonlyMap<string, CompiledOperation> = new Map();
  return {
    has: (service) => entries.has(service),
    get(service) {
      let ops = compiled.get(service);
      if (ops === undefined) {
        if (!entries.has(service)) return undefined;
        const one = compileWhitelist({ services: { [service]: entries.get(service) } });
        ops = typeof one === 'string' ? none : (one.get(service) ?? none);
        compiled.set(service, ops);
      }
      return ops;
    },
  };
}

/** Compiles a whitelist document, or returns what is wrong with it (the first problem found). */
export function compileWhitelist(doc: unknown): ReadonlyMap<string, ReadonlyMap<string, CompiledOperation>> | string {
  if (!isObject(doc) || !isObject(doc.services)) return 'no "services" object';
  const out = new Map<string, Map<string, CompiledOperation>>();
  for (const [service, entry] of Object.entries(doc.services)) {
    if (!isObject(entry) || !isObject(entry.operations)) return `services.${service} has no "operations" object`;
    const ops = new Map<string, CompiledOperation>();
    for (const [op, desc] of Object.entries(entry.operations)) {
      const at = `services.${service}.operations.${op}`;
      if (!isObject(desc)) return `${at} is not an object`;
      const request = compileSide(desc.request_parameters, desc.request_descriptors, `${at}.request`);
      if (typeof request === 'string') return request;
      const response = compileSide(desc.response_parameters, desc.response_descriptors, `${at}.response`);
      if (typeof response === 'string') return response;
      if (request.length > 0 || response.length > 0) {
        ops.set(op, { request: (p, aws) => applyWhitelist(request, p, aws), response: (d, aws) => applyWhitelist(response, d, aws) });
      }
    }
    // Keys are matched on the lower-cased service name the agent computes (spec §8.3).
    out.set(service.toLowerCase(), ops);
  }
  return out;
}

function compileSide(params: unknown, descriptors: unknown, at: string): Extract[] | string {
  const out: Extract[] = [];
  if (params !== undefined) {
    if (!Array.isArray(params) || !params.every((p) => typeof p === 'string' && p !== '')) return `${at}_parameters is not a list of names`;
    for (const p of params as string[]) out.push({ param: p, key: snakeCase(p), take: Take.Value });
  }
  if (descriptors !== undefined) {
    if (!isObject(descriptors)) return `${at}_descriptors is not an object`;
    for (const [p, d] of Object.entries(descriptors)) {
      if (!isObject(d)) return `${at}_descriptors.${p} is not an object`;
      const rename = d.rename_to;
      if (rename !== undefined && (typeof rename !== 'string' || rename === '')) return `${at}_descriptors.${p}.rename_to is not a name`;
      // `list`/`map` only say what the SDKs expected the value to be; `get_count`/`get_keys` decide.
      const take = d.get_count === true ? Take.Count : d.get_keys === true ? Take.Keys : Take.Value;
      out.push({ param: p, key: (rename as string | undefined) ?? snakeCase(p), take });
    }
  }
  return out;
}

/**
 * Copies the whitelisted parameters of `source` (request params or response data) into `aws`.
 * Only reads `source`; absent (undefined) parameters are skipped; object values are copied
 * (JSON-safe, bounded) so the app's objects are never referenced from a trace.
 */
function applyWhitelist(extracts: readonly Extract[], source: unknown, aws: Record<string, unknown>): void {
  if (extracts.length === 0 || source === null || typeof source !== 'object') return;
  const from = source as Record<string, unknown>;
  for (const x of extracts) {
    const v = from[x.param];
    if (v === undefined) continue;
    switch (x.take) {
      case Take.Count:
        if (Array.isArray(v)) aws[x.key] = v.length;
        break;
      case Take.Keys:
        if (v !== null && typeof v === 'object') aws[x.key] = Object.keys(v);
        break;
      default:
        aws[x.key] = v !== null && typeof v === 'object' ? normalizeMetadataValue(v, OBJECT_VALUE_BUDGET) : v;
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s*[\r\n]+\s*/g, ' ').trim();
}
