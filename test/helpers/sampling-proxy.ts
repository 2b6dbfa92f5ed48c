// A local stand-in for the daemon's TCP proxy as centralized sampling sees it (spec §2.3): the two
// X-Ray endpoints `POST /GetSamplingRules` and `POST /SamplingTargets` with the exact request and
// response shapes of the API. Tests change rules and quotas between polls, make it misbehave
// (hang, garbage, HTTP 500, wrong types, oversized bodies), stop and restart it on the same port,
// and read back every request and statistics document it received.

import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** `SamplingRule` as the API returns it. */
export interface SamplingRuleWire {
  RuleName: string;
  RuleARN: string;
  ResourceARN: string;
  Priority: number;
  FixedRate: number;
  ReservoirSize: number;
  ServiceName: string;
  ServiceType: string;
  Host: string;
  HTTPMethod: string;
  URLPath: string;
  Version: number;
  Attributes: Record<string, string>;
}

export interface StatisticsDocument {
  RuleName: string;
  ClientID: string;
  RequestCount: number;
  SampledCount: number;
  BorrowCount: number;
  Timestamp: number;
}

/** What the proxy answers for one rule in SamplingTargets; unset fields are left out of the answer. */
export interface TargetSpec {
  FixedRate?: number;
  ReservoirQuota?: number;
  /** Epoch SECONDS. */
  ReservoirQuotaTTL?: number;
  Interval?: number;
}

/**
 * normal: the API. hang: read the request, never answer. garbage: 200 with a body that is not
 * JSON. error: 500. wrong-shape: 200 with JSON of the wrong types. huge: 200 with a 2 MiB JSON body
 * sent chunked (no length known up front); huge-declared: the same with its Content-Length.
 */
export type ProxyMode = 'normal' | 'hang' | 'garbage' | 'error' | 'wrong-shape' | 'huge' | 'huge-declared';

export interface ReceivedRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  /** Parsed JSON body, or the raw text when it did not parse. */
  body: unknown;
}

export interface SamplingProxy {
  port: number;
  /** `127.0.0.1:<port>`: the TCP part of AWS_XRAY_DAEMON_ADDRESS (`tcp:<address>`). */
  address: string;
  /** Rules served by GetSamplingRules, as records; replace or mutate between polls. */
  rules: SamplingRuleWire[];
  /** Records per GetSamplingRules page; 0 = everything in one page. */
  pageSize: number;
  /** Per-rule answers of SamplingTargets. A rule without an entry gets `{RuleName, FixedRate}`. */
  targets: Map<string, TargetSpec>;
  /** Sent as LastRuleModification (epoch seconds) when set. */
  lastRuleModification: number | undefined;
  /** Sent as UnprocessedStatistics when non-empty. */
  unprocessed: Array<{ RuleName: string; ErrorCode: string; Message: string }>;
  /** Behaviour of both endpoints, unless `rulesMode` / `targetsMode` say otherwise. */
  mode: ProxyMode;
  rulesMode: ProxyMode | undefined;
  targetsMode: ProxyMode | undefined;
  /** Every request received, in order (also those answered with an error or left hanging). */
  requests: ReceivedRequest[];
  /** Every statistics document received by SamplingTargets, in order. */
  statistics: StatisticsDocument[];
  rulesRequests(): ReceivedRequest[];
  targetsRequests(): ReceivedRequest[];
  /** Resolves once `predicate()` holds (checked now and after every request). */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  /** Stops listening and drops every connection (hanging ones too). The port stays ours to reuse. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  readonly listening: boolean;
  /** stop(), for good. */
  close(): Promise<void>;
}

/** A complete rule record from the fields a test cares about (the rest are the API's "match all"). */
export function samplingRule(fields: Partial<SamplingRuleWire> & { RuleName: string }): SamplingRuleWire {
  return {
    RuleARN: `arn:aws:xray:us-west-2:123456789012:sampling-rule/${fields.RuleName}`,
    ResourceARN: '*',
    Priority: 1000,
    FixedRate: 0.05,
    ReservoirSize: 1,
    ServiceName: '*',
    ServiceType: '*',
    Host: '*',
    HTTPMethod: '*',
    URLPath: '*',
    Version: 1,
    Attributes: {},
    ...fields,
  };
}

/** The service's built-in Default rule (priority 10000), with optional overrides. */
export function defaultRule(fields: Partial<SamplingRuleWire> = {}): SamplingRuleWire {
  return samplingRule({ RuleName: 'Default', Priority: 10000, FixedRate: 0.05, ReservoirSize: 1, ...fields });
}

const MAX_REQUEST_BYTES = 1024 * 1024;

export async function startSamplingProxy(opts: { port?: number } = {}): Promise<SamplingProxy> {
  const sockets = new Set<Socket>();
  const waiters = new Set<() => void>();
  let listening = false;

  const proxy: SamplingProxy = {
    port: 0,
    address: '',
    rules: [],
    pageSize: 0,
    targets: new Map(),
    lastRuleModification: undefined,
    unprocessed: [],
    mode: 'normal',
    rulesMode: undefined,
    targetsMode: undefined,
    requests: [],
    statistics: [],
    rulesRequests: () => proxy.requests.filter((r) => r.path === '/GetSamplingRules'),
    targetsRequests: () => proxy.requests.filter((r) => r.path === '/SamplingTargets'),
    waitFor,
    stop,
    restart: () => listen(proxy.port),
    get listening() {
      return listening;
    },
    close: stop,
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_REQUEST_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // kept as text: the test can see what was sent
      }
      const path = (req.url ?? '').split('?')[0]!;
      proxy.requests.push({ method: req.method ?? '', path, contentType: req.headers['content-type'], body });
      try {
        answer(path, req.method ?? '', body, res);
      } finally {
        for (const w of [...waiters]) w();
      }
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  function answer(path: string, method: string, body: unknown, res: http.ServerResponse): void {
    const isRules = path === '/GetSamplingRules';
    const isTargets = path === '/SamplingTargets';
    if (method !== 'POST' || (!isRules && !isTargets)) return json(res, 404, { message: `no route ${method} ${path}` });
    const mode = (isRules ? proxy.rulesMode : proxy.targetsMode) ?? proxy.mode;
    switch (mode) {
      case 'hang':
        return; // the socket stays open until stop() or the client gives up
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end('{"SamplingRuleRecords": [ this is not json');
      case 'error':
        return json(res, 500, { __type: 'InternalFailure', message: 'simulated failure' });
      case 'wrong-shape':
        return json(res, 200, isRules ? { SamplingRuleRecords: 'nope' } : { SamplingTargetDocuments: { RuleName: 'x' } });
      case 'huge': {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"SamplingRuleRecords": [], "SamplingTargetDocuments": [], "padding": "');
        const chunk = 'x'.repeat(64 * 1024);
        for (let i = 0; i < 32; i++) res.write(chunk);
        return void res.end('"}');
      }
      case 'huge-declared':
        return json(res, 200, { SamplingRuleRecords: [], SamplingTargetDocuments: [], padding: 'x'.repeat(2 * 1024 * 1024) });
      case 'normal':
        break;
    }
    if (!isObject(body)) return json(res, 400, { message: 'body must be a JSON object' });
    return isRules ? rulesPage(body, res) : targetsAnswer(body, res);
  }

  function rulesPage(body: Record<string, unknown>, res: http.ServerResponse): void {
    const token = body['NextToken'];
    const start = token === undefined || token === null ? 0 : Number(token);
    if (!Number.isInteger(start) || start < 0 || start > proxy.rules.length) {
      return json(res, 400, { __type: 'InvalidRequestException', message: 'bad NextToken' });
    }
    const end = proxy.pageSize > 0 ? Math.min(proxy.rules.length, start + proxy.pageSize) : proxy.rules.length;
    json(res, 200, {
      SamplingRuleRecords: proxy.rules.slice(start, end).map((rule) => ({ SamplingRule: rule, CreatedAt: 0.0, ModifiedAt: 1717000000.0 })),
      NextToken: end < proxy.rules.length ? String(end) : null,
    });
  }

  function targetsAnswer(body: Record<string, unknown>, res: http.ServerResponse): void {
    const docs = body['SamplingStatisticsDocuments'];
    if (!Array.isArray(docs)) return json(res, 400, { message: 'SamplingStatisticsDocuments must be an array' });
    const targets: Array<Record<string, unknown>> = [];
    for (const d of docs as StatisticsDocument[]) {
      proxy.statistics.push(d);
      const rule = proxy.rules.find((r) => r.RuleName === d.RuleName);
      if (!rule) continue;
      const spec = proxy.targets.get(d.RuleName) ?? {};
      targets.push({ RuleName: d.RuleName, FixedRate: spec.FixedRate ?? rule.FixedRate, ...omitUndefined(spec, ['ReservoirQuota', 'ReservoirQuotaTTL', 'Interval']) });
    }
    const out: Record<string, unknown> = { SamplingTargetDocuments: targets };
    if (proxy.lastRuleModification !== undefined) out['LastRuleModification'] = proxy.lastRuleModification;
    if (proxy.unprocessed.length > 0) out['UnprocessedStatistics'] = proxy.unprocessed;
    json(res, 200, out);
  }

  function waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        let ok = false;
        try {
          ok = predicate();
        } catch {
          ok = false;
        }
        if (!ok) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`sampling-proxy: condition not met within ${timeoutMs} ms; ${proxy.requests.length} request(s) received: ${proxy.requests.map((r) => r.path).join(', ')}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  }

  async function listen(port: number): Promise<void> {
    if (listening) return;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    listening = true;
    // A test that forgets stop() must not keep its file running.
    server.unref();
    proxy.port = (server.address() as AddressInfo).port;
    proxy.address = `127.0.0.1:${proxy.port}`;
  }

  async function stop(): Promise<void> {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    sockets.clear();
    await closed;
  }

  await listen(opts.port ?? 0);
  return proxy;
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function omitUndefined<T extends object>(o: T, keys: Array<keyof T>): Partial<T> {
  const out: Partial<T> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
