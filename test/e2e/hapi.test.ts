// @hapi/hapi 21 end to end: a real hapi server (CJS and ESM fixtures) under
// `node --require/--import @xray/agent`, every version of test/versions.json installed side by
// side. Asserts the route template annotation as hapi writes it (plugin route prefixes included),
// Boom errors hapi turned into responses as the segment's cause (with the Boom kind as the type of
// Boom's own errors) and flags from the final status, downstream calls as subsegments of the
// request's segment through the app's async extensions, responses (and the app's own output) as
// without the agent, hapi 20 left alone with one warning, and broken internals (a patch that
// fails halfway is undone whole).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { startUdpDaemon, type UdpDaemon, type XrayDocument } from '../helpers/udp-daemon';
import { spawnApp, httpRequest, type HttpResponse, type Loader, type RunningApp } from '../helpers/spawn-app';
import { agentLogLines, comparable, isAgentStackFrame } from '../helpers/framework-e2e';
import { startUpstream, headerFields, type Upstream } from '../helpers/upstream';
import { installVersion, versionsUnderTest } from '../helpers/versions';

const ALWAYS = JSON.stringify({ version: 2, default: { fixed_target: 0, rate: 1 } });
const BELOW_FLOOR = '20.3.0';

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
  status: number;
  route?: string;
  flags?: Partial<Record<'error' | 'throttle' | 'fault', true>>;
  cause?: { type: string; message: string };
  /** Upstream paths called from the handler, each a subsegment. */
  downstream?: string[];
}

const CASES: Case[] = [
  { path: '/api/users/7?token=abc', status: 200, route: '/api/users/{id}', downstream: ['/users/7'] },
  { path: '/plain', status: 200, route: '/plain' },
  // Boom.notFound / Boom.tooManyRequests: plain Errors made by Boom; the type is the Boom kind.
  { path: '/api/missing/3', status: 404, route: '/api/missing/{id}', flags: { error: true }, cause: { type: 'Not Found', message: 'no such user 3' } },
  { path: '/api/slow', status: 429, route: '/api/slow', flags: { error: true, throttle: true }, cause: { type: 'Too Many Requests', message: 'slow down' } },
  // The app's own errors, wrapped by hapi (500) or by the app (Boom.boomify, 409), keep their class.
  { path: '/api/fail', status: 500, route: '/api/fail', flags: { fault: true }, cause: { type: 'Error', message: 'kaboom' } },
  { path: '/api/reject', status: 500, route: '/api/reject', flags: { fault: true }, cause: { type: 'TypeError', message: 'bad type' } },
  { path: '/api/conflict', status: 409, route: '/api/conflict', flags: { error: true }, cause: { type: 'RangeError', message: 'out of range' } },
  // An onPreResponse extension of the app's answers the error with a 200 page: a cause, no flags.
  { path: '/api/teapot', status: 200, route: '/api/teapot', cause: { type: 'Bad Request', message: 'replaced later' } },
  // No route: hapi's own not-found route (no template of the app's) throws Boom.notFound().
  { path: '/nowhere', status: 404, flags: { error: true }, cause: { type: 'Not Found', message: 'Not Found' } },
  { method: 'POST', path: '/plain', status: 404, flags: { error: true }, cause: { type: 'Not Found', message: 'Not Found' } },
];

function env(nodeModules: string): Record<string, string> {
  return {
    AWS_XRAY_DAEMON_ADDRESS: daemon.address,
    AWS_XRAY_SAMPLING_RULES: ALWAYS,
    AWS_XRAY_CENTRALIZED_SAMPLING: 'false',
    UPSTREAM_URL: upstream.url,
    XRAY_TEST_NODE_MODULES: nodeModules,
  };
}

let traceCounter = 0;
function newRoot(): string {
  traceCounter += 1;
  return `1-5759e988-${(0x4a91000000 + traceCounter).toString(16).padStart(24, '0')}`;
}

function send(app: RunningApp, c: Pick<Case, 'method' | 'path'>, root: string | undefined): Promise<HttpResponse> {
  const headers: http.OutgoingHttpHeaders = {};
  if (root !== undefined) headers['x-amzn-trace-id'] = `Root=${root};Sampled=1`;
  return httpRequest(app.url(c.path), { method: c.method, headers });
}

function segmentFor(docs: readonly XrayDocument[], root: string): XrayDocument | undefined {
  return docs.find((d) => d.trace_id === root && d.type !== 'subsegment');
}

/** What the app answered, minus the agent's own header and the clock. */

/**
 * The app's and hapi's own stderr (hapi prints developer errors' stacks): without the agent's log
 * lines, pids, and stack frames of the agent's wrappers (a wrapped method is one more frame).
 */
function appStderr(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => !l.includes('"@xray/agent"') && !isAgentStackFrame(l))
    .join('\n')
    .replace(/\(node:\d+\)/g, '(node)');
}

async function withApp<T>(loader: Loader, script: string, appEnv: Record<string, string>, fn: (app: RunningApp) => Promise<T>): Promise<{ result: T; app: RunningApp }> {
  const app = await spawnApp({ script, loader, env: appEnv });
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


const keyOf = (c: Case): string => `${c.method ?? 'GET'} ${c.path}`;

/** Runs every case against a running app and checks the segments the daemon received. */
async function checkCases(app: RunningApp, label: string): Promise<Map<string, unknown>> {
  const responses = new Map<string, unknown>();
  const roots = new Map<Case, string>();
  upstream.requests.length = 0;
  for (const c of CASES) {
    const root = newRoot();
    roots.set(c, root);
    const res = await send(app, c, root);
    assert.equal(res.status, c.status, `${label} ${keyOf(c)}: status (body ${res.body})`);
    responses.set(keyOf(c), comparable(res));
  }
  const docs = await daemon.waitFor((d) => [...roots.values()].every((r) => segmentFor(d, r) !== undefined), 10_000);
  for (const c of CASES) {
    const at = `${label} ${keyOf(c)}`;
    const seg = segmentFor(docs, roots.get(c)!)!;
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
      assert.equal(cause.exceptions.length, 1, `${at}: the error is recorded once`);
      assert.deepEqual({ type: cause.exceptions[0].type, message: cause.exceptions[0].message }, c.cause, `${at}: cause`);
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

for (const version of versionsUnderTest('@hapi/hapi')) {
  for (const [loader, script] of [
    ['require', 'hapi/app.js'],
    ['import', 'hapi/app.mjs'],
  ] as Array<[Loader, string]>) {
    test(`@hapi/hapi ${version} (${loader}, ${script}): routes, errors, downstream calls; responses as without the agent`, async () => {
      const nodeModules = installVersion('@hapi/hapi', version);
      daemon.clear();
      const traced = await withApp(loader, script, env(nodeModules), (app) => checkCases(app, `hapi ${version} ${loader}`));
      assert.deepEqual(agentLogLines(traced.app.stderr), [], 'the agent logged nothing');

      const plain = await withApp('none', script, env(nodeModules), async (app) => {
        const out = new Map<string, unknown>();
        for (const c of CASES) out.set(keyOf(c), comparable(await send(app, c, undefined)));
        return out;
      });
      for (const [key, res] of plain.result) assert.deepEqual(traced.result.get(key), res, `${key}: same response with and without the agent`);
      const portless = (s: string) => s.replace(/^LISTENING \d+$/m, 'LISTENING <port>');
      assert.equal(portless(traced.app.stdout), portless(plain.app.stdout), 'same stdout');
      assert.match(plain.app.stderr, /bad type/, "hapi's debug output for developer errors is written");
      assert.equal(appStderr(traced.app.stderr), appStderr(plain.app.stderr), 'same stderr from the app and hapi');
    });
  }
}

test(`@hapi/hapi ${BELOW_FLOOR} (below the supported range) is left unpatched with one warning`, async () => {
  const nodeModules = installVersion('@hapi/hapi', BELOW_FLOOR);
  daemon.clear();
  const root = newRoot();
  const { app, result: seg } = await withApp('require', 'hapi/app.js', env(nodeModules), async (a) => {
    const res = await send(a, { path: '/api/missing/3' }, root);
    assert.equal(res.status, 404);
    assert.match(res.body, /no such user 3/);
    return segmentFor(await daemon.waitFor((d) => segmentFor(d, root) !== undefined), root)!;
  });
  assert.equal(seg.annotations?.http_route, undefined, 'no route: hapi 20 is not instrumented');
  assert.equal(seg.cause, undefined);
  assert.equal(seg.error, true, 'the HTTP server segment still records the status');
  const lines = agentLogLines(app.stderr);
  assert.equal(lines.length, 1, app.stderr);
  assert.equal(lines[0].level, 40);
  assert.equal(lines[0].msg, `@hapi/hapi@${BELOW_FLOOR} is not instrumented: @xray/agent supports @hapi/hapi ^21.0.0`);
});

test('broken internals: a hapi whose Request has _lookup but no _setResponse still serves, untouched; one error names the instrumentation', async () => {
  // A stand-in package named @hapi/hapi, version in range, just enough of hapi for
  // minimal-app.js. Its Request has the _lookup the patch wraps first, not the _setResponse it
  // wraps next: the patch fails halfway, and the wrap it made is undone (no route recorded).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-hapi-broken-'));
  const pkg = path.join(dir, 'node_modules', '@hapi', 'hapi');
  fs.mkdirSync(path.join(pkg, 'lib'), { recursive: true });
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: '@hapi/hapi', version: '21.4.10', main: 'lib/index.js' }));
  fs.writeFileSync(
    path.join(pkg, 'lib', 'request.js'),
    `'use strict';
module.exports = class Request {
  constructor(req, routes) { this.path = req.url; this.params = {}; this._routes = routes; }
  _lookup() {
    for (const r of this._routes) {
      const m = r.re.exec(this.path);
      if (m !== null) { this.route = r; this.params = { ...m.groups }; return; }
    }
  }
};
`,
  );
  fs.writeFileSync(
    path.join(pkg, 'lib', 'index.js'),
    `'use strict';
const http = require('node:http');
const Request = require('./request.js');
exports.server = exports.Server = function server(options) {
  const routes = [];
  const srv = {
    info: { port: 0 },
    route(def) {
      routes.push({ ...def, re: new RegExp('^' + def.path.replace(/\\{(\\w+)\\}/g, '(?<$1>[^/]+)') + '$') });
    },
    async start() {
      const s = http.createServer(async (req, res) => {
        const request = new Request(req, routes);
        request._lookup();
        if (request.route === undefined) { res.statusCode = 404; res.end('not found'); return; }
        res.end(String(await request.route.handler(request)));
      });
      await new Promise((r) => s.listen(options.port, options.host, r));
      srv.info.port = s.address().port;
    },
  };
  return srv;
};
`,
  );
  try {
    daemon.clear();
    const root = newRoot();
    const { app, result: seg } = await withApp('require', 'hapi/minimal-app.js', env(path.join(dir, 'node_modules')), async (a) => {
      const ok = await send(a, { path: '/hello/world' }, root);
      assert.deepEqual([ok.status, ok.body], [200, 'hello world']);
      return segmentFor(await daemon.waitFor((d) => segmentFor(d, root) !== undefined), root)!;
    });
    assert.equal(seg.http?.response?.status, 200, 'the request is still traced by the HTTP server instrumentation');
    assert.equal(seg.annotations, undefined, 'the _lookup wrap was undone with the failed patch');
    const lines = agentLogLines(app.stderr);
    assert.equal(lines.length, 1, app.stderr);
    assert.equal(lines[0].level, 50);
    assert.match(lines[0].msg, /^instrumentation "hapi" failed on @hapi\/hapi@21\.4\.10 \(lib\/request\.js\); it runs unpatched/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
