// @hapi/hapi 21 end to end: a real hapi server (CJS and ESM fixtures) under
// `node --require/--import @xray/agent`, every version of test/versions.json installed side by
// side. Asserts the route template annotation as hapi writes it (plugin route prefixes included),
// Boom errors hapi turned into responses as the segment's cause (with the Boom kind as the type of
// Boom's own errors) and flags from the final status, downstream calls as subsegments of the
// request's segment through the app's async extensions, responses (and the app's own output) as
// without the agent, hapi 20 left alone with one warning, and broken internals (a patch that
// fails halfway is undone whole).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { agentLogLines, appStderr, bothLoaders, FrameworkE2e, isAgentOrSchedulerFrame, send, type FrameworkCase } from '../helpers/framework-e2e';
import { installVersion, versionsUnderTest } from '../helpers/versions';

const BELOW_FLOOR = '20.3.0';

const e2e = new FrameworkE2e(0x4a91000000);

interface Case extends FrameworkCase {
  cause?: { type: string; message: string };
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

for (const version of versionsUnderTest('@hapi/hapi')) {
  for (const [loader, script] of bothLoaders('hapi')) {
    test(`@hapi/hapi ${version} (${loader}, ${script}): routes, errors, downstream calls; responses as without the agent`, async () => {
      const nodeModules = installVersion('@hapi/hapi', version);
      const { traced, plain } = await e2e.tracedAndPlain(loader, script, e2e.env(nodeModules), CASES, `hapi ${version} ${loader}`);
      assert.match(plain.stderr, /bad type/, "hapi's debug output for developer errors is written");
      // The app's and hapi's own stderr (hapi prints developer errors' stacks), without stack
      // frames of the agent's wrappers (a wrapped method is one more frame).
      assert.equal(appStderr(traced.stderr, isAgentOrSchedulerFrame), appStderr(plain.stderr, isAgentOrSchedulerFrame), 'same stderr from the app and hapi');
    });
  }
}

test(`@hapi/hapi ${BELOW_FLOOR} (below the supported range) is left unpatched with one warning`, async () => {
  const nodeModules = installVersion('@hapi/hapi', BELOW_FLOOR);
  e2e.daemon.clear();
  const root = e2e.newRoot();
  const { app, result: seg } = await e2e.withApp('require', 'hapi/app.js', e2e.env(nodeModules), async (a) => {
    const res = await send(a, { path: '/api/missing/3' }, root);
    assert.equal(res.status, 404);
    assert.match(res.body, /no such user 3/);
    return e2e.segmentOf(root);
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
    e2e.daemon.clear();
    const root = e2e.newRoot();
    const { app, result: seg } = await e2e.withApp('require', 'hapi/minimal-app.js', e2e.env(path.join(dir, 'node_modules')), async (a) => {
      const ok = await send(a, { path: '/hello/world' }, root);
      assert.deepEqual([ok.status, ok.body], [200, 'hello world']);
      return e2e.segmentOf(root);
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
