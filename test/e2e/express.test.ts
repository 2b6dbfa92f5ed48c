// express 4 and 5 end to end: a real express app (CJS and ESM fixtures) under
// `node --require/--import @xray/agent`, every version of test/versions.json installed side by
// side (express 5 routes through the `router` package; its lowest install pins router 2.0.0).
// Asserts the route template annotation with mount prefixes (nested routers, a parameterised
// mount, a sub-app), errors express turned into responses as the segment's cause with flags from
// the final status, downstream calls as subsegments of the request's segment (after async
// middleware, and after a body that arrives in pieces, read the way body-parser reads it),
// responses identical to a run without the agent, a version below the floor left alone with one
// warning, and a copy of express whose Layer lacks the method the patch wraps.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { startUdpDaemon, type UdpDaemon, type XrayDocument } from '../helpers/udp-daemon';
import { spawnApp, httpRequest, runToExit, type HttpResponse, type Loader, type RunningApp } from '../helpers/spawn-app';
import { agentLogLines, comparable } from '../helpers/framework-e2e';
import { startUpstream, headerFields, type Upstream } from '../helpers/upstream';
import { installVersion, versionsUnderTest } from '../helpers/versions';

const ALWAYS = JSON.stringify({ version: 2, default: { fixed_target: 0, rate: 1 } });
/** The newest version below the floor (4.6.0: the first with Layer#handle_request). */
const BELOW_FLOOR = '4.5.1';

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
  /** Sent in two pieces 30 ms apart, so the handler runs from the body's 'end' callback. */
  body?: string;
  status: number;
  route?: string;
  flags?: Partial<Record<'error' | 'throttle' | 'fault', true>>;
  cause?: { type: string; message: string };
  /** Upstream paths called from the handler, each a subsegment. */
  downstream?: string[];
  /** Only on express 5 (rejected promises are caught from 5 on). */
  minMajor?: number;
}

const CASES: Case[] = [
  { path: '/health', status: 200, route: '/health' },
  { path: '/api/users/42?token=abc', status: 200, route: '/api/users/:id', downstream: ['/users/42'] },
  { path: '/api/users', status: 200, route: '/api/users' },
  { method: 'POST', path: '/api/echo', body: JSON.stringify({ hello: 'world', pad: 'x'.repeat(100) }), status: 200, route: '/api/echo', downstream: ['/echo'] },
  { path: '/orgs/acme/repos/web', status: 200, route: '/orgs/:org/repos/:repo' },
  { path: '/admin/stats', status: 200, route: '/admin/stats' },
  { path: '/boom', status: 500, route: '/boom', flags: { fault: true }, cause: { type: 'Error', message: 'boom' } },
  { path: '/missing/3', status: 404, route: '/missing/:id', flags: { error: true }, cause: { type: 'NotFoundError', message: 'no item 3' } },
  { path: '/throttled', status: 429, route: '/throttled', flags: { error: true, throttle: true }, cause: { type: 'TooManyRequestsError', message: 'slow down' } },
  { path: '/handled/items/9', status: 400, route: '/handled/items/:id', flags: { error: true }, cause: { type: 'ValidationError', message: 'bad id' } },
  { path: '/async-boom', status: 500, route: '/async-boom', flags: { fault: true }, cause: { type: 'Error', message: 'async boom' }, minMajor: 5 },
  { path: '/nope', status: 404, flags: { error: true } },
];

function env(nodeModules: string): Record<string, string> {
  return {
    AWS_XRAY_DAEMON_ADDRESS: daemon.address,
    AWS_XRAY_SAMPLING_RULES: ALWAYS,
    AWS_XRAY_CENTRALIZED_SAMPLING: 'false',
    UPSTREAM_URL: upstream.url,
    XRAY_TEST_NODE_MODULES: nodeModules,
    // Without it express's final handler puts err.stack in the response body, and a stack shows
    // the agent's wrapper frames: the body would differ for that reason alone.
    NODE_ENV: 'production',
  };
}

let traceCounter = 0;
function newRoot(): string {
  traceCounter += 1;
  return `1-5759e988-${(0xe4e5000000 + traceCounter).toString(16).padStart(24, '0')}`;
}

/** A request whose body (if any) is written in two pieces 30 ms apart. */
function send(app: RunningApp, c: Case, root: string | undefined): Promise<HttpResponse> {
  const headers: http.OutgoingHttpHeaders = {};
  if (root !== undefined) headers['x-amzn-trace-id'] = `Root=${root};Sampled=1`;
  if (c.body === undefined) return httpRequest(app.url(c.path), { method: c.method, headers });
  const body = c.body;
  headers['content-type'] = 'application/json';
  headers['content-length'] = Buffer.byteLength(body);
  return new Promise((resolve, reject) => {
    const req = http.request(app.url(c.path), { method: c.method ?? 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    const half = Math.floor(body.length / 2);
    req.write(body.slice(0, half));
    setTimeout(() => req.end(body.slice(half)), 30);
  });
}

function segmentFor(docs: readonly XrayDocument[], root: string): XrayDocument | undefined {
  return docs.find((d) => d.trace_id === root && d.type !== 'subsegment');
}

/** What the app answered, minus the agent's own header and the clock. */


/** The app's own stderr (express logs each error it answers), without stack frames, agent lines and pids. */
function appStderr(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => !l.includes('"@xray/agent"') && !/^\s+at /.test(l))
    .join('\n')
    .replace(/\(node:\d+\)/g, '(node)');
}

async function withApp<T>(loader: Loader, script: string, appEnv: Record<string, string>, fn: (app: RunningApp) => Promise<T>): Promise<{ result: T; app: RunningApp }> {
  const app = await spawnApp({ script, loader, env: appEnv });
  try {
    return { result: await fn(app), app };
  } finally {
    await app.stop();
  }
}

function casesFor(major: number): Case[] {
  return CASES.filter((c) => (c.minMajor ?? 0) <= major);
}

const key = (c: Case): string => `${c.method ?? 'GET'} ${c.path}`;

/** Runs every case against a running app and checks the segments the daemon received. */
async function checkCases(app: RunningApp, cases: Case[], label: string): Promise<Map<string, unknown>> {
  const responses = new Map<string, unknown>();
  const roots = new Map<Case, string>();
  upstream.requests.length = 0;
  for (const c of cases) {
    const root = newRoot();
    roots.set(c, root);
    const res = await send(app, c, root);
    assert.equal(res.status, c.status, `${label} ${key(c)}: status (body ${res.body})`);
    responses.set(key(c), comparable(res));
  }
  const docs = await daemon.waitFor((d) => [...roots.values()].every((r) => segmentFor(d, r) !== undefined), 10_000);
  for (const c of cases) {
    const at = `${label} ${key(c)}`;
    const root = roots.get(c)!;
    assert.equal(docs.filter((d) => d.trace_id === root && d.type !== 'subsegment').length, 1, `${at}: one segment`);
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
      assert.equal(cause.exceptions.length, 1, `${at}: the error is recorded once`);
      assert.equal(cause.exceptions[0].type, c.cause.type, `${at}: cause type`);
      assert.equal(cause.exceptions[0].message, c.cause.message, `${at}: cause message`);
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

function installedVersion(nodeModules: string, name: string): string {
  return (JSON.parse(fs.readFileSync(path.join(nodeModules, name, 'package.json'), 'utf8')) as { version: string }).version;
}

for (const version of [...new Set(versionsUnderTest('express'))]) {
  const major = Number(version.split('.')[0]);
  for (const [loader, script] of [
    ['require', 'express/app.js'],
    ['import', 'express/app.mjs'],
  ] as Array<[Loader, string]>) {
    test(`express ${version} (${loader}, ${script}): routes, errors, downstream calls; responses as without the agent`, async (t) => {
      const nodeModules = installVersion('express', version);
      if (major >= 5) t.diagnostic(`router ${installedVersion(nodeModules, 'router')}`);
      const cases = casesFor(major);
      daemon.clear();
      const traced = await withApp(loader, script, env(nodeModules), (app) => checkCases(app, cases, `express ${version} ${loader}`));
      assert.deepEqual(agentLogLines(traced.app.stderr), [], 'the agent logged nothing');

      const plain = await withApp('none', script, env(nodeModules), async (app) => {
        const out = new Map<string, unknown>();
        for (const c of cases) out.set(key(c), comparable(await send(app, c, undefined)));
        return out;
      });
      for (const [k, res] of plain.result) assert.deepEqual(traced.result.get(k), res, `${k}: same response with and without the agent`);
      const portless = (s: string) => s.replace(/^LISTENING \d+$/m, 'LISTENING <port>');
      assert.equal(portless(traced.app.stdout), portless(plain.app.stdout), 'same stdout');
      assert.equal(appStderr(traced.app.stderr), appStderr(plain.app.stderr), 'same errors logged by express');
    });
  }
}

test('AWS_XRAY_DISABLED_INSTRUMENTATIONS=express leaves express 4 and express 5 (router) alone', async () => {
  for (const version of versionsUnderTest('express').slice(-2)) {
    const nodeModules = installVersion('express', version);
    daemon.clear();
    const root = newRoot();
    const { result: seg } = await withApp('require', 'express/app.js', { ...env(nodeModules), AWS_XRAY_DISABLED_INSTRUMENTATIONS: 'express' }, async (app) => {
      assert.equal((await send(app, { path: '/missing/3', status: 404 }, root)).status, 404);
      return segmentFor(await daemon.waitFor((d) => segmentFor(d, root) !== undefined), root)!;
    });
    assert.equal(seg.annotations?.http_route, undefined, `express ${version}: no route`);
    assert.equal(seg.cause, undefined, `express ${version}: no cause`);
    assert.equal(seg.error, true, `express ${version}: the HTTP server segment still has the status flags`);
  }
});

test(`express ${BELOW_FLOOR} (below the supported range) is left unpatched with one warning`, async () => {
  const nodeModules = installVersion('express', BELOW_FLOOR);
  daemon.clear();
  const r = await runToExit({ script: 'express/load-only.js', env: env(nodeModules) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'STATUS 200 user 7\n');
  const lines = agentLogLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0].msg, /^express@4\.5\.1 is not instrumented: @xray\/agent supports express >=4\.6\.0 <5/);
  const [seg] = await daemon.waitFor((d) => d.some((x) => x.http?.request?.url?.endsWith('/users/7')));
  assert.equal(seg.annotations?.http_route, undefined, 'no route annotation from an unpatched express');
  assert.equal(seg.http?.response?.status, 200, 'the HTTP server instrumentation still traces the request');
});

test('broken internals: an express whose Layer lacks handle_request still serves; one error names the instrumentation', async () => {
  // A copy of the newest express 4 whose Layer method is renamed (callers included): in range,
  // fully working, but without what lib/router/layer.js's patch wraps.
  const version = versionsUnderTest('express').find((v) => v.startsWith('4.'))!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-express-broken-'));
  try {
    const nodeModules = path.join(dir, 'node_modules');
    fs.cpSync(installVersion('express', version), nodeModules, { recursive: true });
    const routerDir = path.join(nodeModules, 'express', 'lib', 'router');
    for (const file of ['layer.js', 'index.js', 'route.js']) {
      const p = path.join(routerDir, file);
      fs.writeFileSync(p, fs.readFileSync(p, 'utf8').replaceAll('handle_request', 'handleRequestRenamed'));
    }
    daemon.clear();
    const r = await runToExit({ script: 'express/load-only.js', env: env(nodeModules) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'STATUS 200 user 7\n');
    const lines = agentLogLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.equal(lines[0].level, 50);
    assert.match(lines[0].msg, new RegExp(`^instrumentation "express" failed on express@${version.replace(/\./g, '\\.')} \\(lib/router/layer\\.js\\); it runs unpatched`));
    const [seg] = await daemon.waitFor((d) => d.some((x) => x.http?.request?.url?.endsWith('/users/7')));
    assert.equal(seg.http?.response?.status, 200, 'the request is still traced by the HTTP server instrumentation');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
