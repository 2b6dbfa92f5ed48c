// fastify 4 and 5 end to end: a real fastify app (CJS and ESM fixtures) under
// `node --require/--import @xray/agent`, every version of test/versions.json installed side by
// side. Asserts the route template annotation (plugin prefixes included), errors fastify turned
// into responses as the segment's cause with flags from the final status, downstream calls as
// subsegments of the request's segment (through async hooks and a body that arrives in pieces),
// responses identical to a run without the agent, an out-of-range version left alone with one
// warning, fastify 5 on a Node without TracingChannel#hasSubscribers, and broken internals.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../helpers/spawn-app';
import { agentLogLines, appStderr, bothLoaders, FrameworkE2e, send, type FrameworkCase } from '../helpers/framework-e2e';
import { installVersion, versionsUnderTest } from '../helpers/versions';

const OUT_OF_RANGE = '3.29.5';

const e2e = new FrameworkE2e(0xfa57000000);

// A case's body is sent in two pieces 30 ms apart, so the handler runs after the body parser's callbacks.
interface Case extends FrameworkCase {
  body?: string;
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

for (const version of versionsUnderTest('fastify')) {
  for (const [loader, script] of bothLoaders('fastify')) {
    test(`fastify ${version} (${loader}, ${script}): routes, errors, downstream calls; responses as without the agent`, async () => {
      const nodeModules = installVersion('fastify', version);
      const { traced, plain } = await e2e.tracedAndPlain(loader, script, e2e.env(nodeModules), CASES, `fastify ${version} ${loader}`);
      // No deprecation warning provoked (fastify 4 warns on request.routerPath / request.context).
      assert.equal(appStderr(traced.stderr), appStderr(plain.stderr), 'same stderr from the app and fastify');
    });
  }
}

test(`fastify 5 on a Node without TracingChannel#hasSubscribers (< 20.13): routes come from the patch`, async () => {
  const v5 = versionsUnderTest('fastify').filter((v) => v.startsWith('5.'));
  const preload = path.join(repoRoot(), 'test', 'fixtures', 'fastify', 'no-tracing-has-subscribers.js');
  for (const version of v5) {
    const nodeModules = installVersion('fastify', version);
    e2e.daemon.clear();
    const { app } = await e2e.withApp('require', 'fastify/app.js', e2e.env(nodeModules), (a) => e2e.checkCases(a, CASES, `fastify ${version} old-node`), ['--require', preload]);
    assert.deepEqual(agentLogLines(app.stderr), []);
  }
});

test(`fastify ${OUT_OF_RANGE} (below the supported ranges) is left unpatched with one warning`, async () => {
  const nodeModules = installVersion('fastify', OUT_OF_RANGE);
  e2e.daemon.clear();
  const root = e2e.newRoot();
  const { app, result: seg } = await e2e.withApp('require', 'fastify/app.js', e2e.env(nodeModules), async (a) => {
    const res = await send(a, { path: '/boom', status: 500 }, root);
    assert.equal(res.status, 500);
    assert.match(res.body, /boom/);
    return e2e.segmentOf(root);
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
    e2e.daemon.clear();
    const root = e2e.newRoot();
    const { app, result: seg } = await e2e.withApp('require', 'fastify/app.js', e2e.env(path.join(dir, 'node_modules')), async (a) => {
      const ok = await send(a, { path: '/users/42', status: 200 }, root);
      assert.equal(ok.status, 200);
      assert.equal(ok.body, '{"id":"42"}');
      const boom = await send(a, { path: '/boom', status: 500 }, undefined);
      assert.equal(boom.status, 500);
      assert.equal(boom.body, 'boom');
      return e2e.segmentOf(root);
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
