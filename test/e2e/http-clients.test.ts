// HTTP client libraries end to end: axios (CJS, through node:http and follow-redirects), got
// (ESM-only, through node:http), undici's own `request` and `fetch`, and Node's global fetch
// sending through the undici package's dispatcher (all through undici's diagnostics channels).
// Each call is made from inside a traced request of a fixture app to a local upstream; asserts one
// subsegment per call (per hop for redirects the library follows), its fields, the header the
// upstream received, flags for a 500 and for a refused connection.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startUdpDaemon, type UdpDaemon, type XrayDocument, type XrayEntity } from '../helpers/udp-daemon';
import { spawnApp, httpRequest, type Loader, type RunningApp } from '../helpers/spawn-app';
import { startUpstream, headerFields, type Upstream } from '../helpers/upstream';
import { installVersion, versionsUnderTest } from '../helpers/versions';

const ALWAYS = JSON.stringify({ version: 2, default: { fixed_target: 0, rate: 1 } });
const ID_RE = /^[0-9a-f]{16}$/;

let daemon: UdpDaemon;
let upstream: Upstream;
let refusedPort: number;
before(async () => {
  daemon = await startUdpDaemon();
  upstream = await startUpstream();
  const closed = await startUpstream();
  refusedPort = closed.port;
  await closed.close();
});
after(async () => {
  await daemon.close();
  await upstream.close();
});

interface Client {
  /** CLIENT for the fixture. */
  client: string;
  /** npm package that provides it (versions from test/versions.json). */
  module: string;
  fixtures: Array<[Loader, string]>;
}

const CJS: [Loader, string] = ['require', 'http-clients/app.js'];
const ESM: [Loader, string] = ['import', 'http-clients/app.mjs'];

const CLIENTS: Client[] = [
  { client: 'axios', module: 'axios', fixtures: [CJS, ESM] },
  { client: 'got', module: 'got', fixtures: [ESM] },
  { client: 'undici', module: 'undici', fixtures: [CJS, ESM] },
  { client: 'undici-fetch', module: 'undici', fixtures: [CJS] },
  { client: 'global-fetch', module: 'undici', fixtures: [CJS] },
];

let traceCounter = 0;
function newRoot(): string {
  traceCounter += 1;
  return `1-5759e988-${(0xc1e000000 + traceCounter).toString(16).padStart(24, '0')}`;
}

function segmentFor(docs: readonly XrayDocument[], root: string): XrayDocument | undefined {
  return docs.find((d) => d.trace_id === root && d.type !== 'subsegment');
}

interface Outcome {
  status?: number;
  body?: string;
  error?: string;
}

/** One traced request to the fixture, which makes one client call to `target`. */
async function call(app: RunningApp, target: string, opts: { forward?: boolean } = {}): Promise<{ outcome: Outcome; seg: XrayDocument; subs: XrayEntity[] }> {
  const root = newRoot();
  const url = app.url(`/call?url=${encodeURIComponent(target)}${opts.forward ? '&forward=1' : ''}`);
  const res = await httpRequest(url, { headers: { 'x-amzn-trace-id': `Root=${root};Parent=53995c3f42cd8ad8;Sampled=1` } });
  assert.equal(res.status, 200, res.body);
  const docs = await daemon.waitFor((d) => segmentFor(d, root) !== undefined);
  // Anything streamed on its own would arrive before the segment: none is expected here.
  assert.deepEqual(
    docs.filter((d) => d.trace_id === root && d.type === 'subsegment'),
    [],
    'no independently sent subsegments',
  );
  const seg = segmentFor(docs, root)!;
  return { outcome: JSON.parse(res.body) as Outcome, seg, subs: seg.subsegments ?? [] };
}

function assertRemote(sub: XrayEntity, path: string, status: number | undefined, at: string): void {
  assert.equal(sub.name, '127.0.0.1', `${at}: name is the host`);
  assert.equal(sub.namespace, 'remote', at);
  assert.match(sub.id, ID_RE);
  assert.equal(sub.http?.request?.method, 'GET', at);
  assert.equal(sub.http?.request?.url, `${upstream.url}${path}`, `${at}: url without the query`);
  assert.equal(sub.http?.response?.status, status, `${at}: status`);
  assert.equal(typeof sub.end_time, 'number', `${at}: closed`);
  assert.equal(sub.in_progress, undefined, at);
}

/** The X-Amzn-Trace-Id values the upstream received for requests whose path starts with `path`. */
function receivedFor(path: string): string[] {
  return upstream.requests.filter((r) => r.path === path || r.path.startsWith(`${path}?`)).map((r) => r.traceHeader ?? '');
}

function assertPropagated(header: string, seg: XrayDocument, sub: XrayEntity, at: string): void {
  // Compared whole: a second header value (`a, b` once Node joins them) must fail here.
  assert.equal(header, `Root=${seg.trace_id};Parent=${sub.id};Sampled=1`, `${at}: one header, this trace, Parent = the call's subsegment`);
  assert.equal(headerFields(header).Parent, sub.id);
}

async function checkClient(app: RunningApp, label: string): Promise<void> {
  upstream.requests.length = 0;

  // A plain call: fields, content length, query stripped, header propagated.
  {
    const at = `${label} 200`;
    const { outcome, seg, subs } = await call(app, `${upstream.url}/items/1?secret=x`);
    assert.deepEqual(outcome, { status: 200, body: 'upstream /items/1' }, at);
    assert.equal(subs.length, 1, `${at}: exactly one subsegment per call`);
    assertRemote(subs[0], '/items/1', 200, at);
    assert.equal(subs[0].http?.response?.content_length, 'upstream /items/1'.length, at);
    assert.deepEqual([subs[0].fault, subs[0].error, subs[0].cause], [undefined, undefined, undefined], at);
    const seen = receivedFor('/items/1');
    assert.equal(seen.length, 1, at);
    assertPropagated(seen[0], seg, subs[0], at);
    assert.equal(seg.fault, undefined, at);
  }

  // The upstream answers 500: fault on the subsegment (the app itself answered 200).
  {
    const at = `${label} 500`;
    const { outcome, seg, subs } = await call(app, `${upstream.url}/status?code=500`);
    assert.equal(outcome.status, 500, at);
    assert.equal(subs.length, 1, at);
    assertRemote(subs[0], '/status', 500, at);
    assert.equal(subs[0].fault, true, at);
    assert.equal(subs[0].error, undefined, at);
    assertPropagated(receivedFor('/status').at(-1)!, seg, subs[0], at);
    assert.equal(seg.fault, undefined, `${at}: the app's own response was 200`);
  }

  // A redirect the library follows: two calls, two subsegments, each hop with its own Parent.
  {
    const at = `${label} redirect`;
    const { outcome, seg, subs } = await call(app, `${upstream.url}/redirect?to=/items/2`);
    assert.deepEqual(outcome, { status: 200, body: 'upstream /items/2' }, at);
    assert.equal(subs.length, 2, `${at}: one subsegment per hop`);
    assertRemote(subs[0], '/redirect', 302, `${at} hop 1`);
    assertRemote(subs[1], '/items/2', 200, `${at} hop 2`);
    for (const s of subs) assert.deepEqual([s.fault, s.error], [undefined, undefined], at);
    assertPropagated(receivedFor('/redirect').at(-1)!, seg, subs[0], `${at} hop 1`);
    assertPropagated(receivedFor('/items/2').at(-1)!, seg, subs[1], `${at} hop 2`);
  }

  // The app forwards the X-Amzn-Trace-Id it received (same Root): replaced, never duplicated.
  {
    const at = `${label} forwarded header`;
    const { seg, subs } = await call(app, `${upstream.url}/items/3`, { forward: true });
    assert.equal(subs.length, 1, at);
    const seen = receivedFor('/items/3');
    assert.equal(seen.length, 1, at);
    assertPropagated(seen[0], seg, subs[0], at);
  }

  // Nobody listening: cause + fault, no response.
  {
    const at = `${label} refused`;
    const { outcome, subs } = await call(app, `http://127.0.0.1:${refusedPort}/refused?x=1`);
    assert.equal(outcome.error, 'ECONNREFUSED', at);
    assert.equal(subs.length, 1, `${at}: one subsegment (no retries, no double recording)`);
    const [sub] = subs;
    assert.equal(sub.name, '127.0.0.1');
    assert.equal(sub.namespace, 'remote');
    assert.equal(sub.http?.request?.url, `http://127.0.0.1:${refusedPort}/refused`, at);
    assert.equal(sub.http?.response, undefined, at);
    assert.equal(sub.fault, true, at);
    const cause = sub.cause as { exceptions: Array<{ type: string; message: string }> };
    assert.match(`${cause.exceptions[0].type} ${cause.exceptions[0].message}`, /ECONNREFUSED/, at);
  }
}

for (const { client, module, fixtures } of CLIENTS) {
  for (const version of versionsUnderTest(module)) {
    for (const [loader, script] of fixtures) {
      test(`${client} (${module}@${version}, ${loader}): subsegments, propagation, 500, redirect, refused`, async () => {
        const nodeModules = installVersion(module, version);
        daemon.clear();
        const app = await spawnApp({
          script,
          loader,
          env: {
            CLIENT: client,
            AWS_XRAY_DAEMON_ADDRESS: daemon.address,
            AWS_XRAY_SAMPLING_RULES: ALWAYS,
            AWS_XRAY_CENTRALIZED_SAMPLING: 'false',
            XRAY_TEST_NODE_MODULES: nodeModules,
          },
        });
        try {
          await checkClient(app, `${client}@${version} ${loader}`);
        } catch (err) {
          // The app's own stderr explains most failures (an agent error, a fixture crash).
          if (err instanceof Error) err.message += `\n--- app stderr ---\n${app.stderr.slice(-4000)}`;
          throw err;
        } finally {
          await app.stop();
        }
        assert.equal(app.stderr, '', 'nothing logged');
      });
    }
  }
}
