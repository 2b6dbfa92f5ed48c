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

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runToExit } from '../helpers/spawn-app';
import { agentLogLines, bothLoaders, FrameworkE2e, send, withoutPids, type FrameworkCase } from '../helpers/framework-e2e';
import { installVersion, versionsUnderTest } from '../helpers/versions';

const e2e = new FrameworkE2e(0x7e57000000);

// A cause's restify-errors have a cause() method; it must not be read as an Error.cause chain
// (checkCases asserts the error is recorded once).
interface Case extends FrameworkCase {
  /** Sent in two pieces 30 ms apart, so the next handler is called from the body's 'end' callback. */
  body?: { type: string; text: string };
  cause?: { type: string; message: string };
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

/** A copy of an installed restify tree in a temp folder, edited by `edit(restifyDir)`. */
function restifyCopy(version: string, edit: (restifyDir: string) => void): { nodeModules: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-restify-copy-'));
  const nodeModules = path.join(dir, 'node_modules');
  fs.cpSync(installVersion('restify', version), nodeModules, { recursive: true });
  edit(path.join(nodeModules, 'restify'));
  return { nodeModules, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

const newest = (): string => versionsUnderTest('restify').at(-1)!;

for (const version of [...new Set(versionsUnderTest('restify'))]) {
  for (const [loader, script] of bothLoaders('restify')) {
    test(`restify ${version} (${loader}, ${script}): routes, errors, downstream calls; responses as without the agent`, async () => {
      const nodeModules = installVersion('restify', version);
      const { traced, plain } = await e2e.tracedAndPlain(loader, script, e2e.env(nodeModules), CASES, `restify ${version} ${loader}`, { oneSegment: true });
      assert.equal(withoutPids(traced.stderr), withoutPids(plain.stderr), 'same stderr');
    });
  }
}

test('AWS_XRAY_DISABLED_INSTRUMENTATIONS=restify leaves restify alone', async () => {
  const nodeModules = installVersion('restify', newest());
  e2e.daemon.clear();
  const root = e2e.newRoot();
  const { result: seg } = await e2e.withApp('require', 'restify/app.js', { ...e2e.env(nodeModules), AWS_XRAY_DISABLED_INSTRUMENTATIONS: 'restify' }, async (app) => {
    assert.equal((await send(app, { path: '/missing/3', status: 404 }, root)).status, 404);
    return e2e.segmentOf(root);
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
    e2e.daemon.clear();
    const r = await runToExit({ script: 'restify/load-only.js', env: e2e.env(copy.nodeModules) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'STATUS 200 "user 7"\n');
    const lines = agentLogLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0].msg, /^restify@9\.1\.0 is not instrumented: @xray\/agent supports restify >=10\.0\.0 <13/);
    const [seg] = await e2e.daemon.waitFor((d) => d.some((x) => x.http?.request?.url?.endsWith('/users/7')));
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
    e2e.daemon.clear();
    const r = await runToExit({ script: 'restify/load-only.js', env: e2e.env(copy.nodeModules) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'STATUS 200 "user 7"\n');
    const lines = agentLogLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.equal(lines[0].level, 50);
    assert.match(lines[0].msg, new RegExp(`^instrumentation "restify" failed on restify@${version.replace(/\./g, '\\.')} \\(lib/server\\.js\\); it runs unpatched`));
    const [seg] = await e2e.daemon.waitFor((d) => d.some((x) => x.http?.request?.url?.endsWith('/users/7')));
    assert.equal(seg.http?.response?.status, 200, 'the request is still traced by the HTTP server instrumentation');
    assert.equal(seg.annotations?.http_route, undefined, 'the rolled-back _setupRequest wrap remembers no request, so no route');
  } finally {
    copy.remove();
  }
});
