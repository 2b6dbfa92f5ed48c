// fastify 4 and 5 end to end: a real fastify app (CJS and ESM fixtures) under
// `node --require/--import @xray/agent`, every version of test/versions.json installed side by
// side. Asserts the route template annotation (plugin prefixes included), errors fastify turned
// into responses as the segment's cause with flags from the final status, downstream calls as
// subsegments of the request's segment (through async hooks and a body that arrives in pieces),
// responses identical to a run without the agent, an out-of-range version left alone with one
// warning, fastify 5 on a Node without TracingChannel#hasSubscribers, and broken internals.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { startUdpDaemon, type UdpDaemon, type XrayDocument } from '../helpers/udp-daemon';
import { spawnApp, httpRequest, repoRoot, type HttpResponse, type Loader, type RunningApp } from '../helpers/spawn-app';
import { agentLogLines, comparable } from '../helpers/framework-e2e';
import { startUpstream, headerFields, type Upstream } from '../helpers/upstream';
import { installVersion, versionsUnderTest } from '../helpers/versions';

const ALWAYS = JSON.stringify({ version: 2, default: { fixed_target: 0, rate: 1 } });
const OUT_OF_RANGE = '3.29.5';

let daemon: UdpDaemon;
let upstream: Upstream;
before(async () => {
  daemon = await startUdpDaemon();
  upstream = await startUpstream();
});
after(async () => {
  await daemon.close();
  await upstream.close();
});

interface Case {
  method?: string;
  path: string;
  /** Sent in two pieces 30 ms apart, so the handler runs after the body parser's callbacks. */
  body?: string;
  status: number;
  route?: string;
  flags?: Partial<Record<'error' | 'throttle' | 'fault', true>>;
  cause?: { type?: string; message: string | RegExp };
  /** Upstream paths called from the handler, each a subsegment. */
  downstream?: string[];
}

const CASES: Case[] = [
  { path: '/users/42', status: 200, route: '/users/:id' },
  { path: '/api/v1/items/7?token=abc', status: 200, route: '/api/v1/items/:itemId', downstream: ['/items/7'] },
  { path: '/api/v1/cb/9', status: 200, route: '/api/v1/cb/:id' },
  {
    method: 'POST',
    path: '/echo',
    body: JSON.stringify({ hello: 'world', pad: 'x'.repeat(200) }),
    status: 200,
    route: '/echo',
    downstream: ['/echo'],
  },
  { path: '/boom', status: 500, route: '/boom', flags: { fault: true }, cause: { type: 'Error', message: 'boom' } },
  { path: '/async-boom/1', status: 500, route: '/async-boom/:id', flags: { fault: true }, cause: { type: 'RangeError', message: 'async boom' } },
  { path: '/missing/5', status: 404, route: '/missing/:id', flags: { error: true }, cause: { type: 'NotFoundError', message: 'no item 5' } },
  { path: '/limited', status: 429, route: '/limited', flags: { error: true, throttle: true }, cause: { type: 'Error', message: 'slow down' } },
  { path: '/forbidden/x', status: 403, route: '/forbidden/:what', flags: { error: true }, cause: { type: 'FastifyError', message: 'no access to x' } },
  { path: '/guarded', status: 401, route: '/guarded', flags: { error: true }, cause: { message: 'who are you?' } },
  {
    method: 'POST',
    path: '/validated',
    body: '{}',
    status: 400,
    route: '/validated',
    flags: { error: true },
    cause: { message: /required property 'name'/ },
  },
  { path: '/scoped/fail', status: 503, route: '/scoped/fail', flags: { fault: true }, cause: { type: 'TypeError', message: 'custom fail' } },
  { path: '/scoped/recover', status: 200, route: '/scoped/recover', cause: { message: 'recoverable' } },
  { path: '/nope', status: 404, flags: { error: true } },
];

function env(nodeModules: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AWS_XRAY_DAEMON_ADDRESS: daemon.address,
    AWS_XRAY_SAMPLING_RULES: ALWAYS,
    AWS_XRAY_CENTRALIZED_SAMPLING: 'false',
    UPSTREAM_URL: upstream.url,
    XRAY_TEST_NODE_MODULES: nodeModules,
    ...extra,
  };
}

let traceCounter = 0;
function newRoot(): string {
  traceCounter += 1;
  return `1-5759e988-${(0xfa57000000 + traceCounter).toString(16).padStart(24, '0')}`;
}

/** A request whose body (if any) is written in two pieces 30 ms apart. */
function send(app: RunningApp, c: Case, root: string | undefined): Promise<HttpResponse> {
  const headers: http.OutgoingHttpHeaders = {};
  if (root !== undefined) headers['x-amzn-trace-id'] = `Root=${root};Sampled=1`;
  if (c.body === undefined) return httpRequest(app.url(c.path), { method: c.method, headers });
  headers['content-type'] = 'application/json';
  headers['content-length'] = Buffer.byteLength(c.body);
  return new Promise((resolve, reject) => {
    const req = http.request(app.url(c.path), { method: c.method ?? 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    const half = Math.floor(c.body!.length / 2);
    req.write(c.body!.slice(0, half));
    setTimeout(() => req.end(c.body!.slice(half)), 30);
  });
}

function segmentFor(docs: readonly XrayDocument[], root: string): XrayDocument | undefined {
  return docs.find((d) => d.trace_id === root && d.type !== 'subsegment');
}

/** What the app answered, minus the agent's own header and the clock. */

async function withApp<T>(loader: Loader, script: string, appEnv: Record<string, string>, fn: (app: RunningApp) => Promise<T>, nodeArgs?: string[]): Promise<{ result: T; app: RunningApp }> {
  const app = await spawnApp({ script, loader, env: appEnv, nodeArgs });
  try {
    return { result: await fn(app), app };
  } catch (err) {
    // The app's own stderr explains most failures (an agent error, a fixture crash).
    if (err instanceof Error) err.message += `\n--- app stderr ---\n${app.stderr.slice(-4000)}`;
    throw err;
  } finally {
    await app.stop();
  }
}


/** Runs every case against a running app and checks the segments the daemon received. */
async function checkCases(app: RunningApp, label: string): Promise<Map<string, unknown>> {
  const responses = new Map<string, unknown>();
  const roots = new Map<Case, string>();
  upstream.requests.length = 0;
  for (const c of CASES) {
    const root = newRoot();
    roots.set(c, root);
    const res = await send(app, c, root);
    assert.equal(res.status, c.status, `${label} ${c.path}: status (body ${res.body})`);
    responses.set(`${c.method ?? 'GET'} ${c.path}`, comparable(res));
  }
  const docs = await daemon.waitFor((d) => [...roots.values()].every((r) => segmentFor(d, r) !== undefined), 10_000);
  for (const c of CASES) {
    const at = `${label} ${c.method ?? 'GET'} ${c.path}`;
    const seg = segmentFor(docs, roots.get(c)!)!;
    assert.equal(seg.http?.request?.url, `http://127.0.0.1:${app.port}${c.path.split('?')[0]}`, `${at}: the real path is recorded`);
    assert.equal(seg.http?.response?.status, c.status, at);
    assert.deepEqual(seg.annotations?.http_route, c.route, `${at}: route annotation`);
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
      assert.equal(headerFields(seen.traceHeader).Root, roots.get(c));
    }
  }
  return responses;
}

for (const version of versionsUnderTest('fastify')) {
  for (const [loader, script] of [
    ['require', 'fastify/app.js'],
    ['import', 'fastify/app.mjs'],
  ] as Array<[Loader, string]>) {
    test(`fastify ${version} (${loader}, ${script}): routes, errors, downstream calls; responses as without the agent`, async () => {
      const nodeModules = installVersion('fastify', version);
      daemon.clear();
      const traced = await withApp(loader, script, env(nodeModules), (app) => checkCases(app, `fastify ${version} ${loader}`));
      assert.deepEqual(agentLogLines(traced.app.stderr), [], 'the agent logged nothing');

      const plain = await withApp('none', script, env(nodeModules), async (app) => {
        const out = new Map<string, unknown>();
        for (const c of CASES) out.set(`${c.method ?? 'GET'} ${c.path}`, comparable(await send(app, c, undefined)));
        return out;
      });
      for (const [key, res] of plain.result) assert.deepEqual(traced.result.get(key), res, `${key}: same response with and without the agent`);
      const portless = (s: string) => s.replace(/^LISTENING \d+$/m, 'LISTENING <port>');
      assert.equal(portless(traced.app.stdout), portless(plain.app.stdout), 'same stdout');
      // No deprecation warning provoked (fastify 4 warns on request.routerPath / request.context).
      const appStderr = (s: string) => s.split('\n').filter((l) => !l.includes('"@xray/agent"')).join('\n').replace(/\(node:\d+\)/g, '(node)');
      assert.equal(appStderr(traced.app.stderr), appStderr(plain.app.stderr), 'same stderr from the app and fastify');
    });
  }
}

test(`fastify 5 on a Node without TracingChannel#hasSubscribers (< 20.13): routes come from the patch`, async () => {
  const v5 = versionsUnderTest('fastify').filter((v) => v.startsWith('5.'));
  const preload = path.join(repoRoot(), 'test', 'fixtures', 'fastify', 'no-tracing-has-subscribers.js');
  for (const version of v5) {
    const nodeModules = installVersion('fastify', version);
    daemon.clear();
    const { app } = await withApp('require', 'fastify/app.js', env(nodeModules), (a) => checkCases(a, `fastify ${version} old-node`), ['--require', preload]);
    assert.deepEqual(agentLogLines(app.stderr), []);
  }
});

test(`fastify ${OUT_OF_RANGE} (below the supported ranges) is left unpatched with one warning`, async () => {
  const nodeModules = installVersion('fastify', OUT_OF_RANGE);
  daemon.clear();
  const root = newRoot();
  const { app, result: seg } = await withApp('require', 'fastify/app.js', env(nodeModules), async (a) => {
    const res = await send(a, { path: '/boom', status: 500 }, root);
    assert.equal(res.status, 500);
    assert.match(res.body, /boom/);
    return segmentFor(await daemon.waitFor((d) => segmentFor(d, root) !== undefined), root)!;
  });
  assert.equal(seg.annotations?.http_route, undefined, 'no route: fastify 3 is not instrumented');
  assert.equal(seg.cause, undefined);
  assert.equal(seg.fault, true, 'the HTTP server segment still records the status');
  const lines = agentLogLines(app.stderr);
  assert.equal(lines.length, 1, app.stderr);
  assert.match(lines[0].msg, new RegExp(`fastify@${OUT_OF_RANGE.replace(/\./g, '\\.')} is not instrumented: @xray/agent supports fastify \\^4\\.0\\.0 \\|\\| \\^5\\.0\\.0`));
});

test('broken internals: a fastify whose lib/error-handler.js lacks handleError still serves; one error names the instrumentation', async () => {
  // A stand-in package named fastify, version in range, whose lib/error-handler.js lacks the
  // handleError the patch wraps; just enough of fastify's API for the fixture.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-fastify-broken-'));
  const pkg = path.join(dir, 'node_modules', 'fastify');
  fs.mkdirSync(path.join(pkg, 'lib'), { recursive: true });
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'fastify', version: '4.29.1', main: 'fastify.js' }));
  fs.writeFileSync(path.join(pkg, 'lib', 'error-handler.js'), "'use strict';\nmodule.exports = { buildErrorHandler() {} };\n");
  fs.writeFileSync(
    path.join(pkg, 'fastify.js'),
    `'use strict';
require('./lib/error-handler.js');
const http = require('node:http');
module.exports = function fastify() {
  const routes = [];
  const app = {
    get(p, opts, handler) {
      routes.push([new RegExp('^' + p.replace(/:[^/]+/g, '([^/]+)') + '$'), handler ?? opts]);
    },
    post() {},
    register() {},
    addHook() {},
    async listen() {
      await new Promise((r) => app.server.listen(0, '127.0.0.1', r));
    },
    server: http.createServer(async (req, res) => {
      for (const [re, handler] of routes) {
        const m = re.exec(req.url);
        if (m === null) continue;
        try {
          res.end(JSON.stringify(await handler({ params: { id: m[1] } }, {})));
        } catch (e) {
          res.statusCode = 500;
          res.end(e.message);
        }
        return;
      }
      res.statusCode = 404;
      res.end('not found');
    }),
  };
  return app;
};
`,
  );
  fs.mkdirSync(path.join(dir, 'node_modules', '@fastify', 'error'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'node_modules', '@fastify', 'error', 'package.json'), JSON.stringify({ name: '@fastify/error', version: '1.0.0' }));
  fs.writeFileSync(
    path.join(dir, 'node_modules', '@fastify', 'error', 'index.js'),
    "module.exports = { createError: (code, msg, status) => class extends Error { constructor() { super(msg); this.statusCode = status; } } };\n",
  );
  try {
    daemon.clear();
    const root = newRoot();
    const { app, result: seg } = await withApp('require', 'fastify/app.js', env(path.join(dir, 'node_modules')), async (a) => {
      const ok = await send(a, { path: '/users/42', status: 200 }, root);
      assert.equal(ok.status, 200);
      assert.equal(ok.body, '{"id":"42"}');
      const boom = await send(a, { path: '/boom', status: 500 }, undefined);
      assert.equal(boom.status, 500);
      assert.equal(boom.body, 'boom');
      return segmentFor(await daemon.waitFor((d) => segmentFor(d, root) !== undefined), root)!;
    });
    assert.equal(seg.http?.response?.status, 200, 'the request is still traced by the HTTP server instrumentation');
    const errors = agentLogLines(app.stderr).filter((l) => l.level >= 50);
    assert.equal(errors.length, 1, app.stderr);
    assert.match(errors[0].msg, /^instrumentation "fastify" failed on fastify@4\.29\.1 \(lib\/error-handler\.js\); it runs unpatched/);
    assert.equal(agentLogLines(app.stderr).length, 1, 'nothing else logged');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
