// Helpers shared by the web framework e2e tests (express, fastify, hapi, koa, restify): the daemon
// and upstream, the case-table checks, comparing responses with and without the agent, and telling
// the agent's own output apart from the app's.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as path from 'node:path';
import { spawnApp, httpRequest, type HttpResponse, type Loader, type RunningApp } from './spawn-app';
import { startUdpDaemon, type UdpDaemon, type XrayDocument } from './udp-daemon';
import { startUpstream, headerFields, type Upstream } from './upstream';

/** Status, body and headers, minus the two that legitimately differ (trace header, date). */
export function comparable(res: HttpResponse): unknown {
  const headers = { ...res.headers };
  delete headers['x-amzn-trace-id'];
  delete headers.date;
  return { status: res.status, body: res.body, headers };
}

/** The agent's log lines (pino JSON on stderr). */
export function agentLogLines(stderr: string): Array<{ level: number; msg: string }> {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes('"@xray/agent"'))
    .map((l) => JSON.parse(l) as { level: number; msg: string });
}

/**
 * A stack frame that says nothing about what the app saw: the agent's own code (a wrapped function
 * is one more frame in the app's error stacks: the bundle dist/agent.js or a compiled
 * instrumentation module), or Node's scheduler draining promise jobs after a timer or an immediate
 * (`runNextTicks`, `processTimers`, `processImmediate`): those appear whenever some timer (the
 * agent's burst timer, or the app's own) happens to fire while an async handler is pending.
 */
export function isAgentOrSchedulerFrame(line: string): boolean {
  return (
    line.includes(`${path.sep}dist${path.sep}agent.js:`) ||
    line.includes(`${path.sep}dist${path.sep}instrumentations${path.sep}`) ||
    /^\s+at (runNextTicks|process\.processTimers|processImmediate|process\.processImmediate) \(node:internal\//.test(line)
  );
}

/** `(node:1234)` prefixes (warnings) with the pid taken out. */
export function withoutPids(s: string): string {
  return s.replace(/\(node:\d+\)/g, '(node)');
}

/** The app's own stderr: without the agent's log lines, the lines `drop` names, and pids. */
export function appStderr(stderr: string, drop: (line: string) => boolean = () => false): string {
  return withoutPids(
    stderr
      .split('\n')
      .filter((l) => !l.includes('"@xray/agent"') && !drop(l))
      .join('\n'),
  );
}

/** One request of a framework's case table, and what the daemon should have received for it. */
export interface FrameworkCase {
  method?: string;
  path: string;
  /**
   * Sent in two pieces 30 ms apart (a string as application/json), so the handler runs from the
   * body's callbacks.
   */
  body?: string | { type: string; text: string };
  status: number;
  route?: string;
  flags?: Partial<Record<'error' | 'throttle' | 'fault', true>>;
  /** Without a type, only the message is checked; a RegExp message is matched. */
  cause?: { type?: string; message: string | RegExp };
  /** Upstream paths called from the handler, each a subsegment. */
  downstream?: string[];
}

export const caseKey = (c: Pick<FrameworkCase, 'method' | 'path'>): string => `${c.method ?? 'GET'} ${c.path}`;

export function segmentFor(docs: readonly XrayDocument[], root: string): XrayDocument | undefined {
  return docs.find((d) => d.trace_id === root && d.type !== 'subsegment');
}

/** A fixture script under test/fixtures and how it is loaded: require, then import. */
export function bothLoaders(fixtureDir: string): Array<[Loader, string]> {
  return [
    ['require', `${fixtureDir}/app.js`],
    ['import', `${fixtureDir}/app.mjs`],
  ];
}

/**
 * What a framework e2e test file shares: a UDP daemon and an upstream (started before, closed
 * after the file's tests), the apps' environment, trace ids, requests, and the checks of a case
 * table against the segments received.
 */
export class FrameworkE2e {
  daemon!: UdpDaemon;
  upstream!: Upstream;
  private traceCounter = 0;

  /**
   * @param traceBase where this file's trace ids start (distinct per file)
   * @param extraEnv added to every app's environment
   */
  constructor(
    private readonly traceBase: number,
    private readonly extraEnv: Record<string, string> = {},
  ) {
    before(async () => {
      this.daemon = await startUdpDaemon();
      this.upstream = await startUpstream();
    });
    after(async () => {
      await this.daemon.close();
      await this.upstream.close();
    });
  }

  env(nodeModules: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
      AWS_XRAY_DAEMON_ADDRESS: this.daemon.address,
      AWS_XRAY_SAMPLING_RULES: ALWAYS,
      AWS_XRAY_CENTRALIZED_SAMPLING: 'false',
      UPSTREAM_URL: this.upstream.url,
      XRAY_TEST_NODE_MODULES: nodeModules,
      ...this.extraEnv,
      ...extra,
    };
  }

  newRoot(): string {
    this.traceCounter += 1;
    return `1-5759e988-${(this.traceBase + this.traceCounter).toString(16).padStart(24, '0')}`;
  }

  /** The segment of trace `root`, once the daemon has it. */
  async segmentOf(root: string): Promise<XrayDocument> {
    return segmentFor(await this.daemon.waitFor((d) => segmentFor(d, root) !== undefined), root)!;
  }

  /** Runs `fn` against the app spawned from `script`, which is stopped afterwards. */
  async withApp<T>(
    loader: Loader,
    script: string,
    appEnv: Record<string, string>,
    fn: (app: RunningApp) => Promise<T>,
    nodeArgs?: string[],
  ): Promise<{ result: T; app: RunningApp }> {
    const app = await spawnApp({ script, loader, env: appEnv, nodeArgs });
    try {
      return { result: await fn(app), app };
    } catch (err) {
      // What the app (and the agent in it) wrote is the first thing to read when a check fails.
      if (err instanceof Error) err.message += `\n--- app stderr (${script}, ${loader}) ---\n${app.stderr.slice(-4000)}`;
      throw err;
    } finally {
      await app.stop();
    }
  }

  /** Runs every case against a running app and checks the segments the daemon received. */
  async checkCases(app: RunningApp, cases: readonly FrameworkCase[], label: string, opts: { oneSegment?: boolean } = {}): Promise<Map<string, unknown>> {
    const { daemon, upstream } = this;
    const responses = new Map<string, unknown>();
    const roots = new Map<FrameworkCase, string>();
    upstream.requests.length = 0;
    for (const c of cases) {
      const root = this.newRoot();
      roots.set(c, root);
      const res = await send(app, c, root);
      assert.equal(res.status, c.status, `${label} ${caseKey(c)}: status (body ${res.body})`);
      responses.set(caseKey(c), comparable(res));
    }
    const docs = await daemon.waitFor((d) => [...roots.values()].every((r) => segmentFor(d, r) !== undefined), 10_000);
    for (const c of cases) {
      const at = `${label} ${caseKey(c)}`;
      const root = roots.get(c)!;
      if (opts.oneSegment === true) assert.equal(docs.filter((d) => d.trace_id === root && d.type !== 'subsegment').length, 1, `${at}: one segment`);
      const seg = segmentFor(docs, root)!;
      assert.equal(seg.http?.request?.url, `http://127.0.0.1:${app.port}${c.path.split('?')[0]}`, `${at}: the real path is recorded`);
      assert.equal(seg.http?.response?.status, c.status, at);
      assert.equal(seg.annotations?.http_route, c.route, `${at}: route annotation`);
      assert.deepEqual(
        { error: seg.error, throttle: seg.throttle, fault: seg.fault },
        { error: undefined, throttle: undefined, fault: undefined, ...c.flags },
        `${at}: flags`,
      );
      const cause = seg.cause as { exceptions: Array<{ type: string; message: string }> } | undefined;
      if (c.cause === undefined) {
        assert.equal(cause, undefined, `${at}: no cause`);
      } else {
        assert.ok(cause !== undefined && typeof cause === 'object', `${at}: cause recorded`);
        // The error is recorded once (restify-errors' cause() method is not an Error.cause chain).
        assert.equal(cause.exceptions.length, 1, `${at}: the error is recorded once`);
        const [ex] = cause.exceptions;
        if (c.cause.type !== undefined) assert.equal(ex.type, c.cause.type, `${at}: cause type`);
        if (typeof c.cause.message === 'string') assert.equal(ex.message, c.cause.message, `${at}: cause message`);
        else assert.match(ex.message, c.cause.message, `${at}: cause message`);
      }
      const subs = seg.subsegments ?? [];
      assert.deepEqual(
        subs.map((s) => s.http?.request?.url),
        (c.downstream ?? []).map((p) => `${upstream.url}${p}`),
        `${at}: downstream calls are subsegments of the request's segment`,
      );
      for (const s of subs) {
        const seen = upstream.requests.find((r) => headerFields(r.traceHeader).Parent === s.id);
        assert.ok(seen !== undefined, `${at}: the upstream received Parent=${s.id}`);
        assert.equal(headerFields(seen.traceHeader).Root, root);
      }
    }
    return responses;
  }

  /**
   * The cases against the app with the agent (checked by checkCases, the agent logging nothing),
   * then without it: the same responses and the same stdout. Both runs are returned for the
   * framework's own stderr checks.
   */
  async tracedAndPlain(
    loader: Loader,
    script: string,
    appEnv: Record<string, string>,
    cases: readonly FrameworkCase[],
    label: string,
    opts: { oneSegment?: boolean } = {},
  ): Promise<{ traced: RunningApp; plain: RunningApp }> {
    this.daemon.clear();
    const traced = await this.withApp(loader, script, appEnv, (app) => this.checkCases(app, cases, label, opts));
    assert.deepEqual(agentLogLines(traced.app.stderr), [], 'the agent logged nothing');

    const plain = await this.withApp('none', script, appEnv, async (app) => {
      const out = new Map<string, unknown>();
      for (const c of cases) out.set(caseKey(c), comparable(await send(app, c, undefined)));
      return out;
    });
    for (const [key, res] of plain.result) assert.deepEqual(traced.result.get(key), res, `${key}: same response with and without the agent`);
    const portless = (s: string) => s.replace(/^LISTENING \d+$/m, 'LISTENING <port>');
    assert.equal(portless(traced.app.stdout), portless(plain.app.stdout), 'same stdout');
    return { traced: traced.app, plain: plain.app };
  }
}

const ALWAYS = JSON.stringify({ version: 2, default: { fixed_target: 0, rate: 1 } });

/** A request with the trace header of `root` (if any); a body is written in two pieces 30 ms apart. */
export function send(app: RunningApp, c: Pick<FrameworkCase, 'path'> & Partial<FrameworkCase>, root: string | undefined): Promise<HttpResponse> {
  const headers: http.OutgoingHttpHeaders = {};
  if (root !== undefined) headers['x-amzn-trace-id'] = `Root=${root};Sampled=1`;
  if (c.body === undefined) return httpRequest(app.url(c.path), { method: c.method, headers });
  const { type, text } = typeof c.body === 'string' ? { type: 'application/json', text: c.body } : c.body;
  headers['content-type'] = type;
  headers['content-length'] = Buffer.byteLength(text);
  return new Promise((resolve, reject) => {
    const req = http.request(app.url(c.path), { method: c.method ?? 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    const half = Math.floor(text.length / 2);
    req.write(text.slice(0, half));
    setTimeout(() => req.end(text.slice(half)), 30);
  });
}
