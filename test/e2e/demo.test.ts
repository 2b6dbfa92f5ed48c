// `npm run demo` end to end: `node dist/bin/demo.js` as a user runs it, in a clean environment.
// It must exit 0 within seconds, print the three traces a first-time user is meant to see, and
// leave nothing running (the app's and the inventory's ports are closed afterwards).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as path from 'node:path';
import { repoRoot, runToExit, type RunResult } from '../helpers/spawn-app';

function blockFor(stdout: string, route: string): string {
  // Each request line starts a block: `→ GET /checkout  200  {...}`, then its trace.
  const blocks = stdout.split(/^(?=→ GET )/m);
  const block = blocks.find((b) => b.startsWith(`→ GET ${route} `));
  assert.ok(block, `no block for GET ${route} in:\n${stdout}`);
  return block;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

test('npm run demo: three traces, exit 0, nothing left running', async () => {
  const root = repoRoot();
  const result: RunResult = await runToExit(
    { script: path.join(root, 'dist', 'bin', 'demo.js'), loader: 'none', cwd: root },
    20_000,
  );
  const { stdout } = result;
  const context = `\n--- stdout ---\n${stdout}\n--- stderr ---\n${result.stderr}`;

  assert.equal(result.code, 0, `demo exit code${context}`);
  assert.equal(result.signal, null);
  assert.ok(result.durationMs < 10_000, `demo took ${Math.round(result.durationMs)} ms${context}`);
  assert.doesNotMatch(stdout, /\u001b\[/, 'no colour when stdout is not a terminal');
  assert.equal(result.stderr, '', 'nothing on stderr when all goes well');

  const traces = stdout.match(/^trace 1-[0-9a-f]{8}-[0-9a-f]{24}  \(1 document\)$/gm) ?? [];
  assert.equal(traces.length, 3, `three traces, one document each${context}`);

  const home = blockFor(stdout, '/');
  assert.match(home, /^→ GET \/  200 /);
  assert.match(home, /^ {2}demo-shop {2}\d+\.\dms {2}200 {2}GET http:\/\/127\.0\.0\.1:\d+\/$/m);
  assert.doesNotMatch(home, /^ {4}\S/m, 'no subsegments for /');

  const checkout = blockFor(stdout, '/checkout');
  assert.match(checkout, /^→ GET \/checkout  200 /);
  assert.match(checkout, /^ {2}demo-shop {2}\d+\.\dms {2}200 {2}GET http:\/\/127\.0\.0\.1:\d+\/checkout$/m);
  const downstream = checkout.match(/^ {4}127\.0\.0\.1 {2}\d+\.\dms {2}200 {2}\(remote\) GET http:\/\/127\.0\.0\.1:\d+\/stock$/gm) ?? [];
  assert.equal(downstream.length, 2, `http.get and fetch each give a subsegment${context}`);
  assert.match(checkout, /^ {4}price-rules {2}\d+\.\dms$/m);
  assert.doesNotMatch(checkout, /fault|error|!/);

  const fail = blockFor(stdout, '/fail');
  assert.match(fail, /^→ GET \/fail  502 /);
  assert.match(fail, /^ {2}demo-shop {2}\d+\.\dms {2}502 {2}fault {2}GET http:\/\/127\.0\.0\.1:\d+\/fail$/m);
  assert.match(fail, /^ {4}! Error: inventory answered 503 {2}at .*app\.js:\d+\)$/m);
  assert.match(fail, /^ {4}127\.0\.0\.1 {2}\d+\.\dms {2}503 {2}fault {2}\(remote\) GET http:\/\/127\.0\.0\.1:\d+\/stock$/m);

  // Requests in order, each printed before its trace.
  const order = ['→ GET / ', '→ GET /checkout ', '→ GET /fail '].map((s) => stdout.indexOf(s));
  assert.deepEqual([...order].sort((a, b) => a - b), order, 'requests in order');
  assert.ok(stdout.indexOf('trace 1-') > order[0], 'request line before its trace');

  assert.match(stdout, /node --require @xray\/agent app\.js/, 'tells how to run your own service');
  assert.match(stdout, /xray-agent listen/);

  const ports = /listening on http:\/\/127\.0\.0\.1:(\d+), inventory upstream on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout);
  assert.ok(ports, `ports line${context}`);
  assert.equal(await refused(Number(ports[1])), true, 'the app is stopped');
  assert.equal(await refused(Number(ports[2])), true, 'the inventory upstream is stopped');
});
