// express 4 and 5 end to end: a real express app (CJS and ESM fixtures) under
// `node --require/--import @xray/agent`, every version of test/versions.json installed side by
// side (express 5 routes through the `router` package; its lowest install pins router 2.0.0).
// Asserts the route template annotation with mount prefixes (nested routers, a parameterised
// mount, a sub-app), errors express turned into responses as the segment's cause with flags from
// the final status, downstream calls as subsegments of the request's segment (after async
// middleware, and after a body that arrives in pieces, read the way body-parser reads it),
// responses identical to a run without the agent, a version below the floor left alone with one
// warning, and a copy of express whose Layer lacks the method the patch wraps.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runToExit } from '../helpers/spawn-app';
import { agentLogLines, appStderr, bothLoaders, FrameworkE2e, send, type FrameworkCase } from '../helpers/framework-e2e';
import { installVersion, versionsUnderTest } from '../helpers/versions';

/** The newest version below the floor (4.6.0: the first with Layer#handle_request). */
const BELOW_FLOOR = '4.5.1';

// Without NODE_ENV=production express's final handler puts err.stack in the response body, and a
// stack shows the agent's wrapper frames: the body would differ for that reason alone.
const e2e = new FrameworkE2e(0xe4e5000000, { NODE_ENV: 'production' });

interface Case extends FrameworkCase {
  /** Sent in two pieces 30 ms apart, so the handler runs from the body's 'end' callback. */
  body?: string;
  cause?: { type: string; message: string };
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
  { path: '/v2/users/5', status: 200, route: '/v2/users/:id' },
  { path: '/t/acme/users/5', status: 200, route: '/t/:tenant/users/:id' },
  { path: '/boom', status: 500, route: '/boom', flags: { fault: true }, cause: { type: 'Error', message: 'boom' } },
  { path: '/missing/3', status: 404, route: '/missing/:id', flags: { error: true }, cause: { type: 'NotFoundError', message: 'no item 3' } },
  { path: '/throttled', status: 429, route: '/throttled', flags: { error: true, throttle: true }, cause: { type: 'TooManyRequestsError', message: 'slow down' } },
  { path: '/handled/items/9', status: 400, route: '/handled/items/:id', flags: { error: true }, cause: { type: 'ValidationError', message: 'bad id' } },
  { path: '/async-boom', status: 500, route: '/async-boom', flags: { fault: true }, cause: { type: 'Error', message: 'async boom' }, minMajor: 5 },
  { path: '/nope', status: 404, flags: { error: true } },
];

function casesFor(major: number): Case[] {
  return CASES.filter((c) => (c.minMajor ?? 0) <= major);
}

function installedVersion(nodeModules: string, name: string): string {
  return (JSON.parse(fs.readFileSync(path.join(nodeModules, name, 'package.json'), 'utf8')) as { version: string }).version;
}

for (const version of [...new Set(versionsUnderTest('express'))]) {
  const major = Number(version.split('.')[0]);
  for (const [loader, script] of bothLoaders('express')) {
    test(`express ${version} (${loader}, ${script}): routes, errors, downstream calls; responses as without the agent`, async (t) => {
      const nodeModules = installVersion('express', version);
      if (major >= 5) t.diagnostic(`router ${installedVersion(nodeModules, 'router')}`);
      const cases = casesFor(major);
      const { traced, plain } = await e2e.tracedAndPlain(loader, script, e2e.env(nodeModules), cases, `express ${version} ${loader}`, { oneSegment: true });
      // The app's own stderr (express logs each error it answers), without stack frames.
      const ownStderr = (s: string) => appStderr(s, (l) => /^\s+at /.test(l));
      assert.equal(ownStderr(traced.stderr), ownStderr(plain.stderr), 'same errors logged by express');
    });
  }
}

test('AWS_XRAY_DISABLED_INSTRUMENTATIONS=express leaves express 4 and express 5 (router) alone', async () => {
  for (const version of versionsUnderTest('express').slice(-2)) {
    const nodeModules = installVersion('express', version);
    e2e.daemon.clear();
    const root = e2e.newRoot();
    const { result: seg } = await e2e.withApp('require', 'express/app.js', { ...e2e.env(nodeModules), AWS_XRAY_DISABLED_INSTRUMENTATIONS: 'express' }, async (app) => {
      assert.equal((await send(app, { path: '/missing/3', status: 404 }, root)).status, 404);
      return e2e.segmentOf(root);
    });
    assert.equal(seg.annotations?.http_route, undefined, `express ${version}: no route`);
    assert.equal(seg.cause, undefined, `express ${version}: no cause`);
    assert.equal(seg.error, true, `express ${version}: the HTTP server segment still has the status flags`);
  }
});

test(`express ${BELOW_FLOOR} (below the supported range) is left unpatched with one warning`, async () => {
  const nodeModules = installVersion('express', BELOW_FLOOR);
  e2e.daemon.clear();
  const r = await runToExit({ script: 'express/load-only.js', env: e2e.env(nodeModules) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'STATUS 200 user 7\n');
  const lines = agentLogLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0].msg, /^express@4\.5\.1 is not instrumented: @xray\/agent supports express >=4\.6\.0 <5/);
  const [seg] = await e2e.daemon.waitFor((d) => d.some((x) => x.http?.request?.url?.endsWith('/users/7')));
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
    e2e.daemon.clear();
    const r = await runToExit({ script: 'express/load-only.js', env: e2e.env(nodeModules) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'STATUS 200 user 7\n');
    const lines = agentLogLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.equal(lines[0].level, 50);
    assert.match(lines[0].msg, new RegExp(`^instrumentation "express" failed on express@${version.replace(/\./g, '\\.')} \\(lib/router/layer\\.js\\); it runs unpatched`));
    const [seg] = await e2e.daemon.waitFor((d) => d.some((x) => x.http?.request?.url?.endsWith('/users/7')));
    assert.equal(seg.http?.response?.status, 200, 'the request is still traced by the HTTP server instrumentation');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
