// koa 2 and 3 (with @koa/router) end to end: a real koa app (CJS fixture, and an ESM fixture that
// imports koa's and the router's own ESM builds) under `node --require/--import @xray/agent`,
// every version of test/versions.json installed side by side. Asserts the route template
// annotation (router prefixes and mounts included), errors koa turned into responses as the
// segment's cause with flags from the final status, downstream calls as subsegments of the
// request's segment through async middleware, responses (and the app's own output) as without the
// agent, koa 1 left alone with one warning, broken internals, and the optional middleware
// subsegments (in process: no configuration key turns them on yet).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { httpRequest } from '../helpers/spawn-app';
import { inProcessRecorder } from '../helpers/in-process-recorder';
import { agentLogLines, appStderr, bothLoaders, FrameworkE2e, isAgentOrSchedulerFrame, send, type FrameworkCase } from '../helpers/framework-e2e';
import { installVersion, versionsUnderTest } from '../helpers/versions';
import { WebFrameworkSpans } from '../../agent/spans/web-framework';
import { run } from '../../agent/context';
import { DATAGRAM_HEADER } from '../../agent/export/serializer';
import type { InstrumentationHost } from '../../agent/instrumentation';
import { patchApplication } from '../../instrumentations/koa/middleware';
import { patchContext } from '../../instrumentations/koa/context';

const BELOW_FLOOR = '1.7.1';

const e2e = new FrameworkE2e(0x6b0a000000);

interface Case extends FrameworkCase {
  cause?: { type: string; message: string };
}

const CASES: Case[] = [
  { path: '/api/users/7?token=abc', status: 200, route: '/api/users/:id', downstream: ['/users/7'] },
  { path: '/admin/stats', status: 200, route: '/admin/stats' },
  { path: '/re/3', status: 200, route: '/^\\/re\\/\\d+$/' },
  { path: '/api/missing/3', status: 404, route: '/api/missing/:id', flags: { error: true }, cause: { type: 'NotFoundError', message: 'no such user 3' } },
  { path: '/api/slow', status: 429, route: '/api/slow', flags: { error: true, throttle: true }, cause: { type: 'TooManyRequestsError', message: 'Too Many Requests' } },
  { path: '/api/fail', status: 500, route: '/api/fail', flags: { fault: true }, cause: { type: 'Error', message: 'kaboom' } },
  { path: '/api/reject', status: 500, route: '/api/reject', flags: { fault: true }, cause: { type: 'TypeError', message: 'bad type' } },
  { path: '/api/thrown-string', status: 500, route: '/api/thrown-string', flags: { fault: true }, cause: { type: '', message: 'just a string' } },
  // The app's own middleware answers its error itself: koa never sees it, so no cause.
  { path: '/handled', status: 418, flags: { error: true } },
  // allowedMethods answers 405 without any route having matched the method.
  { method: 'POST', path: '/api/users/7', status: 405, flags: { error: true } },
  { path: '/plain', status: 200 },
  { path: '/nowhere', status: 404, flags: { error: true } },
];

for (const version of versionsUnderTest('koa')) {
  for (const [loader, script] of bothLoaders('koa')) {
    test(`koa ${version} (${loader}, ${script}): routes, errors, downstream calls; responses as without the agent`, async () => {
      const nodeModules = installVersion('koa', version);
      const { traced, plain } = await e2e.tracedAndPlain(loader, script, e2e.env(nodeModules), CASES, `koa ${version} ${loader}`);
      assert.match(plain.stderr, /kaboom/, "koa's default error log is written");
      // The app's and koa's own stderr (koa logs the 500s' stacks), without stack frames of the
      // agent's wrappers (a wrapped function is one more frame below koa's).
      assert.equal(appStderr(traced.stderr, isAgentOrSchedulerFrame), appStderr(plain.stderr, isAgentOrSchedulerFrame), "same stderr from the app and koa (its 'error' logging untouched)");
    });
  }
}

test(`koa ${BELOW_FLOOR} (below the supported ranges) is left unpatched with one warning`, async () => {
  const nodeModules = installVersion('koa', BELOW_FLOOR);
  e2e.daemon.clear();
  const root = e2e.newRoot();
  const { app, result: seg } = await e2e.withApp('require', 'koa/minimal-app.js', e2e.env(nodeModules), async (a) => {
    const ok = await send(a, { path: '/x' }, undefined);
    assert.deepEqual([ok.status, ok.body], [200, 'hello /x']);
    const res = await send(a, { path: '/missing' }, root);
    assert.equal(res.status, 404);
    return e2e.segmentOf(root);
  });
  assert.equal(seg.cause, undefined, 'no cause: koa 1 is not instrumented');
  assert.equal(seg.error, true, 'the HTTP server segment still records the status');
  const lines = agentLogLines(app.stderr);
  assert.equal(lines.length, 1, app.stderr);
  assert.equal(lines[0].level, 40);
  assert.equal(lines[0].msg, `koa@${BELOW_FLOOR} is not instrumented: @xray/agent supports koa ^2.0.0 || ^3.0.0`);
});

test('broken internals: a koa whose lib/context.js has no onerror still serves; one error names the instrumentation', async () => {
  // A stand-in package named koa, version in range, just enough of koa for minimal-app.js, whose
  // context prototype lacks the onerror the patch wraps.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-koa-broken-'));
  const pkg = path.join(dir, 'node_modules', 'koa');
  fs.mkdirSync(path.join(pkg, 'lib'), { recursive: true });
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'koa', version: '2.16.4', main: 'lib/application.js' }));
  fs.writeFileSync(path.join(pkg, 'lib', 'context.js'), "'use strict';\nmodule.exports = { throw(status) { const e = new Error('x'); e.status = status; throw e; } };\n");
  fs.writeFileSync(
    path.join(pkg, 'lib', 'application.js'),
    `'use strict';
const http = require('node:http');
const context = require('./context.js');
module.exports = class Application {
  constructor() { this.middleware = []; }
  use(fn) { this.middleware.push(fn); return this; }
  listen(...args) {
    const server = http.createServer(async (req, res) => {
      const ctx = Object.create(context);
      ctx.path = req.url;
      try {
        await this.middleware[0](ctx, async () => {});
        res.end(String(ctx.body));
      } catch (e) {
        res.statusCode = e.status || 500;
        res.end('failed');
      }
    });
    return server.listen(...args);
  }
};
`,
  );
  try {
    e2e.daemon.clear();
    const root = e2e.newRoot();
    const { app, result: seg } = await e2e.withApp('require', 'koa/minimal-app.js', e2e.env(path.join(dir, 'node_modules')), async (a) => {
      const ok = await send(a, { path: '/x' }, root);
      assert.deepEqual([ok.status, ok.body], [200, 'hello /x']);
      const missing = await send(a, { path: '/missing' }, undefined);
      assert.deepEqual([missing.status, missing.body], [404, 'failed']);
      return e2e.segmentOf(root);
    });
    assert.equal(seg.http?.response?.status, 200, 'the request is still traced by the HTTP server instrumentation');
    const lines = agentLogLines(app.stderr);
    assert.equal(lines.length, 1, app.stderr);
    assert.equal(lines[0].level, 50);
    assert.match(lines[0].msg, /^instrumentation "koa" failed on koa@2\.16\.4 \(lib\/context\.js\); it runs unpatched/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// In process, because no configuration key turns middleware subsegments on yet: koa (newest of
// the newest major) is loaded here and patched the way the module hook would, with a host whose
// web spans have them on; a plain http server stands in for the agent's http instrumentation.
test('middleware subsegments (when on): one per middleware, nested the way koa runs them; errors as causes', async () => {
  const version = versionsUnderTest('koa').at(-1)!;
  const nodeModules = installVersion('koa', version);
  const { recorder, datagrams } = inProcessRecorder();
  const host = { web: new WebFrameworkSpans(recorder, { routeAnnotation: true, middlewareSubsegments: true }) } as unknown as InstrumentationHost;
  /* eslint-disable @typescript-eslint/no-require-imports */
  const Koa = require(path.join(nodeModules, 'koa')) as new () => { use(fn: unknown): unknown; callback(): http.RequestListener; middleware: unknown[] };
  patchContext(require(path.join(nodeModules, 'koa', 'lib', 'context.js')), host);
  patchApplication(Koa, host);
  const routerModule = require(path.join(nodeModules, '@koa', 'router')) as { Router?: unknown; default?: unknown };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const Router = (routerModule.Router ?? routerModule.default ?? routerModule) as new () => {
    get(p: string, fn: (ctx: any) => unknown): void;
    routes(): (ctx: unknown, next: unknown) => unknown;
  };

  const app = new Koa();
  async function outer(ctx: any, next: () => Promise<void>) {
    await new Promise((r) => setTimeout(r, 2));
    await next();
    ctx.set('x-outer', '1');
  }
  const router = new Router();
  router.get('/items/:id', async (ctx) => {
    await new Promise((r) => setTimeout(r, 2));
    ctx.body = `item ${ctx.params.id}`;
  });
  router.get('/gone', (ctx) => ctx.throw(410, 'gone for good'));
  const routes = router.routes();
  assert.equal(app.use(outer), app, 'use returns the app');
  app.use(routes);
  assert.equal((app.middleware[0] as { name: string }).name, 'outer', 'the traced middleware keeps its name');
  assert.equal((app.middleware[1] as { router?: unknown }).router, (routes as unknown as { router: unknown }).router, 'and its own properties');
  assert.equal((app.middleware[1] as (...a: unknown[]) => unknown).length, routes.length, 'and its length');

  const handler = app.callback();
  const server = http.createServer((req, res) => {
    const segment = recorder.startSegment({});
    res.on('close', () => {
      segment.http = { response: { status: res.statusCode } };
      segment.close();
    });
    run(segment, () => handler(req, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as { port: number }).port;
    const ok = await httpRequest(`http://127.0.0.1:${port}/items/5`);
    assert.deepEqual([ok.status, ok.body, ok.headers['x-outer']], [200, 'item 5', '1']);
    const gone = await httpRequest(`http://127.0.0.1:${port}/gone`);
    assert.equal(gone.status, 410);
    const deadline = Date.now() + 5000;
    while (datagrams.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  } finally {
    await new Promise((r) => server.close(r));
  }
  type Doc = { annotations?: Record<string, unknown>; cause?: unknown; subsegments?: Doc[]; name: string; end_time?: number; fault?: boolean };
  const docs = datagrams.map((d) => JSON.parse(d.slice(DATAGRAM_HEADER.length)) as Doc);
  assert.equal(docs.length, 2);
  const [okDoc, goneDoc] = docs;
  assert.equal(okDoc.annotations?.http_route, '/items/:id');
  const shape = (d: Doc): unknown => ({ name: d.name, children: (d.subsegments ?? []).map(shape) });
  assert.deepEqual(shape(okDoc), {
    name: 'svc',
    children: [{ name: 'middleware outer', children: [{ name: 'middleware router', children: [] }] }],
  });
  const outerSub = goneDoc.subsegments![0];
  const dispatchSub = outerSub.subsegments![0];
  const first = dispatchSub.cause as { exceptions: Array<{ id: string; type: string; message: string }> };
  assert.deepEqual({ type: first.exceptions[0].type, message: first.exceptions[0].message }, { type: 'GoneError', message: 'gone for good' });
  assert.equal(outerSub.cause, first.exceptions[0].id, 'the error passing outward is referenced, not repeated');
  assert.equal(goneDoc.cause, first.exceptions[0].id, "and koa's onerror records it on the segment by reference");
  assert.equal(outerSub.fault, undefined, 'no fault on the middleware: the flags come from the status');
});
