// The two calls of centralized sampling to the daemon's HTTP proxy (spec §2.3): POST
// /GetSamplingRules and POST /SamplingTargets. Everything that comes back is untrusted: a response
// that is not a 200 with a JSON body of the documented shape is an error, and so are a slow answer
// (2 s, whole request) and a body over 1 MiB. Requests go through the agent's own HTTP agent, so the
// HTTP instrumentation never traces them, and their sockets are unref'd so a poll in flight never
// keeps the process alive.

import type { Agent, ClientRequest, IncomingMessage } from 'node:http';
import type { Endpoint } from '../config/daemon-address';
import { createOwnHttpAgent } from '../own-http';
import type { SamplingStatisticsDocument, SamplingTarget } from './centralized-sampler';
import { setTimeout, clearTimeout } from '../timers';

export const DEFAULT_TIMEOUT_MS = 2000;
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** One page of `GetSamplingRules`. Records are validated one by one later (./centralized-rules). */
export interface RulesPage {
  records: unknown[];
  /** Present when there is another page. */
  nextToken?: string;
}

export interface UnprocessedStatistic {
  ruleName: string;
  errorCode: string;
  message: string;
}

export interface TargetsResponse {
  targets: SamplingTarget[];
  /** Epoch SECONDS of the last change to any rule, when the service says. */
  lastRuleModification?: number;
  unprocessed: UnprocessedStatistic[];
  /** Target documents that were skipped because of wrong types (the rest are still applied). */
  invalidTargets: number;
}

/** Every failure of a call: one line, safe to log (no body text from the proxy beyond a short quote). */
export class ProxyError extends Error {
  override name = 'ProxyError';
}

export interface DaemonProxyClientOptions {
  timeoutMs?: number;
  maxBodyBytes?: number;
  /** Default: `createOwnHttpAgent()`, created on the first request. */
  agent?: Agent;
}

/** What the poller needs; the real client below, or a stand-in in tests. */
export interface ProxyClient {
  /** `host:port` of the proxy, for log lines. */
  readonly label: string;
  getSamplingRules(nextToken?: string): Promise<RulesPage>;
  getSamplingTargets(docs: readonly SamplingStatisticsDocument[]): Promise<TargetsResponse>;
  /** Aborts requests in flight. */
  close(): void;
}

export class DaemonProxyClient implements ProxyClient {
  readonly label: string;
  private readonly host: string;
  private readonly port: number;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private agent: Agent | undefined;
  private readonly inFlight = new Set<ClientRequest>();

  constructor(endpoint: Endpoint, opts: DaemonProxyClientOptions = {}) {
    this.host = endpoint.host;
    this.port = endpoint.port;
    this.label = endpoint.host.includes(':') ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.agent = opts.agent;
  }

  async getSamplingRules(nextToken?: string): Promise<RulesPage> {
    const body = await this.post('/GetSamplingRules', nextToken === undefined ? {} : { NextToken: nextToken });
    return parseRulesPage(body);
  }

  async getSamplingTargets(docs: readonly SamplingStatisticsDocument[]): Promise<TargetsResponse> {
    const body = await this.post('/SamplingTargets', { SamplingStatisticsDocuments: docs });
    return parseTargetsResponse(body);
  }

  close(): void {
    for (const req of this.inFlight) req.destroy(new ProxyError('client closed'));
    this.inFlight.clear();
    this.agent?.destroy();
    this.agent = undefined;
  }

  /** One POST with a JSON body; resolves with the parsed JSON of a 200 answer. */
  private post(path: string, payload: unknown): Promise<unknown> {
    // Loaded here, not at import: centralized sampling starts on the first decision, and a process
    // that never serves a request never needs node:http for it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const http = require('node:http') as typeof import('node:http');
    const agent = (this.agent ??= createOwnHttpAgent());
    const data = Buffer.from(JSON.stringify(payload), 'utf8');
    const what = `POST ${path}`;

    return new Promise<unknown>((resolve, reject) => {
      let settled = false;
      let req: ClientRequest | undefined;
      const finish = (err: Error | undefined, value?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (req !== undefined) this.inFlight.delete(req);
        if (err) reject(err instanceof ProxyError ? err : new ProxyError(`${what}: ${oneLine(err)}`));
        else resolve(value);
      };
      // One deadline for the whole exchange (connect, send, wait, read): a proxy that accepts and
      // then trickles bytes is as broken as one that never answers.
      const timer = setTimeout(() => {
        const err = new ProxyError(`${what}: no complete answer within ${this.timeoutMs} ms`);
        req?.destroy(err);
        finish(err);
      }, this.timeoutMs);
      timer.unref();

      try {
        req = http.request({
          host: this.host,
          port: this.port,
          method: 'POST',
          path,
          agent,
          headers: { 'content-type': 'application/json', 'content-length': data.length },
        });
      } catch (err) {
        finish(err as Error);
        return;
      }
      this.inFlight.add(req);
      req.on('socket', (socket) => socket.unref());
      req.on('error', (err) => finish(err));
      req.on('response', (res) => this.readResponse(res, what, finish));
      req.end(data);
    });
  }

  private readResponse(res: IncomingMessage, what: string, finish: (err: Error | undefined, value?: unknown) => void): void {
    const status = res.statusCode ?? 0;
    const declared = Number(res.headers['content-length']);
    if (declared > this.maxBodyBytes) {
      res.destroy();
      finish(new ProxyError(`${what}: HTTP ${status} response of ${declared} bytes is over the ${this.maxBodyBytes}-byte limit`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > this.maxBodyBytes) {
        res.destroy();
        finish(new ProxyError(`${what}: HTTP ${status} response is over the ${this.maxBodyBytes}-byte limit`));
        return;
      }
      chunks.push(chunk);
    });
    res.on('error', (err) => finish(err));
    // After 'end' this is a no-op (already settled); before it, the proxy hung up mid-answer.
    res.on('close', () => finish(new ProxyError(`${what}: connection closed before the response was complete`)));
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (status !== 200) {
        finish(new ProxyError(`${what}: HTTP ${status}${text ? ` ${quote(text)}` : ''}`));
        return;
      }
      try {
        finish(undefined, JSON.parse(text));
      } catch (err) {
        finish(new ProxyError(`${what}: response is not JSON (${oneLine(err)})`));
      }
    });
  }
}

// ---- response validation -------------------------------------------------------------------

/** `{ SamplingRuleRecords: [...], NextToken?: string | null }`; anything else is an error. */
export function parseRulesPage(body: unknown): RulesPage {
  if (!isObject(body)) throw new ProxyError(`GetSamplingRules: response is ${kind(body)}, not an object`);
  const records = body['SamplingRuleRecords'];
  if (!Array.isArray(records)) {
    throw new ProxyError(`GetSamplingRules: SamplingRuleRecords is ${kind(records)}, not an array`);
  }
  const token = body['NextToken'];
  if (token === undefined || token === null || token === '') return { records };
  if (typeof token !== 'string') throw new ProxyError(`GetSamplingRules: NextToken is ${kind(token)}, not a string`);
  return { records, nextToken: token };
}

/**
 * `{ SamplingTargetDocuments: [...], LastRuleModification?, UnprocessedStatistics? }`. A wrong
 * envelope is an error; a single target document with wrong types is skipped and counted, so one
 * odd entry does not cost the other rules their quotas.
 */
export function parseTargetsResponse(body: unknown): TargetsResponse {
  if (!isObject(body)) throw new ProxyError(`SamplingTargets: response is ${kind(body)}, not an object`);
  const docs = body['SamplingTargetDocuments'];
  if (!Array.isArray(docs)) {
    throw new ProxyError(`SamplingTargets: SamplingTargetDocuments is ${kind(docs)}, not an array`);
  }
  const lastMod = body['LastRuleModification'];
  if (lastMod !== undefined && lastMod !== null && !isFiniteNumber(lastMod)) {
    throw new ProxyError(`SamplingTargets: LastRuleModification is ${kind(lastMod)}, not a number`);
  }
  const unprocessedRaw = body['UnprocessedStatistics'];
  if (unprocessedRaw !== undefined && unprocessedRaw !== null && !Array.isArray(unprocessedRaw)) {
    throw new ProxyError(`SamplingTargets: UnprocessedStatistics is ${kind(unprocessedRaw)}, not an array`);
  }

  const targets: SamplingTarget[] = [];
  let invalidTargets = 0;
  for (const d of docs) {
    const t = parseTarget(d);
    if (t === undefined) invalidTargets++;
    else targets.push(t);
  }
  const unprocessed: UnprocessedStatistic[] = [];
  for (const u of (unprocessedRaw as unknown[] | undefined | null) ?? []) {
    if (!isObject(u)) continue;
    unprocessed.push({
      ruleName: typeof u['RuleName'] === 'string' ? u['RuleName'] : '?',
      errorCode: typeof u['ErrorCode'] === 'string' ? u['ErrorCode'] : '?',
      message: typeof u['Message'] === 'string' ? u['Message'] : '',
    });
  }
  const out: TargetsResponse = { targets, unprocessed, invalidTargets };
  if (isFiniteNumber(lastMod)) out.lastRuleModification = lastMod;
  return out;
}

function parseTarget(d: unknown): SamplingTarget | undefined {
  if (!isObject(d)) return undefined;
  const ruleName = d['RuleName'];
  const fixedRate = d['FixedRate'];
  if (typeof ruleName !== 'string' || ruleName === '') return undefined;
  if (!isFiniteNumber(fixedRate) || fixedRate < 0 || fixedRate > 1) return undefined;
  const t: SamplingTarget = { ruleName, fixedRate };
  // Optional fields (spec §2.3 "may be absent"); null is read as absent, any other wrong type
  // rejects the document rather than half-applying it.
  const quota = d['ReservoirQuota'];
  if (quota !== undefined && quota !== null) {
    if (!isFiniteNumber(quota) || quota < 0) return undefined;
    t.reservoirQuota = Math.floor(quota);
  }
  const ttl = d['ReservoirQuotaTTL'];
  if (ttl !== undefined && ttl !== null) {
    if (!isFiniteNumber(ttl)) return undefined;
    t.reservoirQuotaTtl = ttl;
  }
  const interval = d['Interval'];
  if (interval !== undefined && interval !== null) {
    if (!isFiniteNumber(interval) || interval < 0) return undefined;
    t.interval = interval;
  }
  return t;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function kind(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/** At most 80 characters of proxy text, escaped onto one line (it goes into a log). */
function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? text.slice(0, 80) + '…' : text);
}

function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}
