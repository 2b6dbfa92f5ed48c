// restify 10–12 end to end: a real restify server (CJS and ESM fixtures) under
// `node --require/--import @xray/agent`, every version of test/versions.json installed side by
// side. Asserts the route template annotation (`req.getRoute().path`), errors restify turned into
// responses (restify-errors objects passed to next(), a rejected async handler, no route, wrong
// method, an error the app's 'restifyError' listener answered) as the segment's cause with flags
// from the final status, downstream calls as subsegments of the request's segment (after async
// middleware, after bodyParser in the `use` chain and after a body reader in the route's own
// chain, with bodies that arrive in pieces), responses identical to a run without the agent, a
// version below the floor left alone with one warning, and a copy of restify whose Server lacks
// the method the patch wraps.

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
  /** Sent in two pieces 30 ms apart, so the next handler is called from the body's 'end' callback. */
  body?: { type: string; text: string };
  status: number;
  route?: string;
  flags?: Partial<Record<'error' | 'throttle' | 'fault', true>>;
  cause?: { type: string; message: string };
  /** Upstream paths called from the handler, each a subsegment. */
  downstream?: string[];
}

const CASES: Case[] = [
  { path: '/health', status: 200, route: '/health' },
  { path: '/users/42?token=abc', status: 200, route: '/users/:id', downstream: ['/users/42'] },
  { method: 'POST', path: '/echo', body: { type: 'application/json', text: JSON.stringify({ hello: 'world', pad: 'x'.repeat(100) }) }, status: 200, route: '/echo', downstream: ['/echo'] },
  { method: 'POST', path: '/inline/5', body: { type: 'application/octet-stream', text: 'y'.repeat(120) }, status: 200, route: '/inline/:id', downstream: ['/inline/5'] },
  { path: '/missing/3', status: 404, route: '/missing/:id', flags: { error: true }, cause: { type: 'NotFoundError', message: 'no item 3' } },
  { path: '/throttled', status: 429, route: '/throttled', flags: { error: true, throttle: true }, cause: { type: 'TooManyRequestsError', message: 'slow down' } },
  { path: '/boom', status: 500, route: '/boom', flags: { fault: true }, cause: { type: 'InternalServerError', message: 'boom' } },
  { path: '/async-boom', status: 500, route: '/async-boom', flags: { fault: true }, cause: { type: 'Error', message: 'async boom' } },
  { path: '/teapot', status: 418, route: '/teapot', flags: { error: true }, cause: { type: 'ImATeapotError', message: 'short and stout' } },
  { path: '/nope', status: 404, flags: { error: true }, cause: { type: 'ResourceNotFoundError', message: '/nope does not exist' } },
  { method: 'POST', path: '/health', status: 405, flags: { error: true }, cause: { type: 'MethodNotAllowedError', message: 'POST is not allowed' } },
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
  return `1-5759e988-${(0x7e57000000 + traceCounter).toString(16).padStart(24, '0')}`;
}

/** A request whose body (if any) is written in two pieces 30 ms apart. */
function send(app: RunningApp, c: Case, root: string | undefined): Promise<HttpResponse> {
  const headers: http.OutgoingHttpHeaders = {};
  if (root !== undefined) headers['x-amzn-trace-id'] = `Root=${root};Sampled=1`;
  if (c.body === undefined) return httpRequest(app.url(c.path), { method: c.method, headers });
  const text = c.body.text;
  headers['content-type'] = c.body.type;
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

function segmentFor(docs: readonly XrayDocument[], root: string): XrayDocument | undefined {
  return docs.find((d) => d.trace_id === root && d.type !== 'subsegment');
}

/** What the app answered, minus the agent's own header and the clock. */


async function withApp<T>(loader: Loader, script: string, appEnv: Record<string, string>, fn: (app: RunningApp) => Promise<T>): Promise<{ result: T; app: RunningApp }> {
  const app = await spawnApp({ script, loader, env: appEnv });
  try {
    return { result: await fn(app), app };
  } finally {
    await app.stop();
  }
}

const key = (c: Case): string => `${c.method ?? 'GET'} ${c.path}`;

/** Runs every case against a running app and checks the segments the daemon received. */
async function checkCases(app: RunningApp, label: string): Promise<Map<string, unknown>> {
  const responses = new Map<string, unknown>();
  const roots = new Map<Case, string>();
  upstream.requests.length = 0;
  for (const c of CASES) {
    const root = newRoot();
    roots.set(c, root);
    const res = await send(app, c, root);
    assert.equal(res.status, c.status, `${label} ${key(c)}: status (body ${res.body})`);
    responses.set(key(c), comparable(res));
  }
  const docs = await daemon.waitFor((d) => [...roots.values()].every((r) => segmentFor(d, r) !== undefined), 10_000);
  for (const c of CASES) {
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
      // restify-errors have a cause() method; it must not be read as an Error.cause chain.
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

/** A copy of an installed restify tree in a temp folder, edited by `edit(restifyDir)`. */
function restifyCopy(version: string, edit: (restifyDir: string) => void): { nodeModules: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-restify-copy-'));
  const nodeModules = path.join(dir, 'node_modules');
  fs.cpSync(installVersion('restify', version), nodeModules, { recursive: true });
  edit(path.join(nodeModules, 'restify'));
  return { nodeModules, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

const newest = (): string => versionsUnderTest('restify').at(-1)!;
const nodeNormalised = (s: string): string => s.replace(/\(node:\d+\)/g, '(node)');

for (const version of [...new Set(versionsUnderTest('restify'))]) {
  for (const [loader, script] of [
    ['require', 'restify/app.js'],
    ['import', 'restify/app.mjs'],
  ] as Array<[Loader, string]>) {
    test(`restify ${version} (${loader}, ${script}): routes, errors, downstream calls; responses as without the agent`, async () => {
      const nodeModules = installVersion('restify', version);
      daemon.clear();
      const traced = await withApp(loader, script, env(nodeModules), (app) => checkCases(app, `restify ${version} ${loader}`));
      assert.deepEqual(agentLogLines(traced.app.stderr), [], 'the agent logged nothing');

      const plain = await withApp('none', script, env(nodeModules), async (app) => {
        const out = new Map<string, unknown>();
        for (const c of CASES) out.set(key(c), comparable(await send(app, c, undefined)));
        return out;
      });
      for (const [k, res] of plain.result) assert.deepEqual(traced.result.get(k), res, `${k}: same response with and without the agent`);
      const portless = (s: string) => s.replace(/^LISTENING \d+$/m, 'LISTENING <port>');
      assert.equal(portless(traced.app.stdout), portless(plain.app.stdout), 'same stdout');
      assert.equal(nodeNormalised(traced.app.stderr), nodeNormalised(plain.app.stderr), 'same stderr');
    });
  }
}

test('AWS_XRAY_DISABLED_INSTRUMENTATIONS=restify leaves restify alone', async () => {
  const nodeModules = installVersion('restify', newest());
  daemon.clear();
  const root = newRoot();
  const { result: seg } = await withApp('require', 'restify/app.js', { ...env(nodeModules), AWS_XRAY_DISABLED_INSTRUMENTATIONS: 'restify' }, async (app) => {
    assert.equal((await send(app, { path: '/missing/3', status: 404 }, root)).status, 404);
    return segmentFor(await daemon.waitFor((d) => segmentFor(d, root) !== undefined), root)!;
  });
  assert.equal(seg.annotations?.http_route, undefined, 'no route');
  assert.equal(seg.cause, undefined, 'no cause');
  assert.equal(seg.error, true, 'the HTTP server segment still has the status flags');
});

test('a restify below the floor (10.0.0) is left unpatched with one warning', async () => {
  // restify 9 and older throw at require time on Node 20 (they assign IncomingMessage#closed), so
  // no real release below the floor can run here: a copy of the newest one, relabelled 9.1.0,
  // stands in for it.
  const copy = restifyCopy(newest(), (dir) => {
    const pkg = path.join(dir, 'package.json');
    fs.writeFileSync(pkg, JSON.stringify({ ...JSON.parse(fs.readFileSync(pkg, 'utf8')), version: '9.1.0' }));
  });
  try {
    daemon.clear();
    const r = await runToExit({ script: 'restify/load-only.js', env: env(copy.nodeModules) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'STATUS 200 "user 7"\n');
    const lines = agentLogLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0].msg, /^restify@9\.1\.0 is not instrumented: @xray\/agent supports restify >=10\.0\.0 <13/);
    const [seg] = await daemon.waitFor((d) => d.some((x) => x.http?.request?.url?.endsWith('/users/7')));
    assert.equal(seg.annotations?.http_route, undefined, 'no route annotation from an unpatched restify');
    assert.equal(seg.http?.response?.status, 200, 'the HTTP server instrumentation still traces the request');
  } finally {
    copy.remove();
  }
});

test('broken internals: a restify whose Server lacks _onHandlerError still serves; one error names the instrumentation', async () => {
  // A copy of the newest restify with that method renamed (callers included): in range, fully
  // working, but without what lib/server.js's patch wraps. The patch's earlier wrap of the same
  // file (_setupRequest) is undone with it.
  const version = newest();
  const copy = restifyCopy(version, (dir) => {
    const server = path.join(dir, 'lib', 'server.js');
    fs.writeFileSync(server, fs.readFileSync(server, 'utf8').replaceAll('_onHandlerError', '_onHandlerErrorRenamed'));
  });
  try {
    daemon.clear();
    const r = await runToExit({ script: 'restify/load-only.js', env: env(copy.nodeModules) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'STATUS 200 "user 7"\n');
    const lines = agentLogLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.equal(lines[0].level, 50);
    assert.match(lines[0].msg, new RegExp(`^instrumentation "restify" failed on restify@${version.replace(/\./g, '\\.')} \\(lib/server\\.js\\); it runs unpatched`));
    const [seg] = await daemon.waitFor((d) => d.some((x) => x.http?.request?.url?.endsWith('/users/7')));
    assert.equal(seg.http?.response?.status, 200, 'the request is still traced by the HTTP server instrumentation');
    assert.equal(seg.annotations?.http_route, undefined, 'the rolled-back _setupRequest wrap remembers no request, so no route');
  } finally {
    copy.remove();
  }
});
