// End-to-end: a real `node --require/--import @xray/agent` child process serving HTTP, a real
// UDP listener standing in for the daemon, a real local upstream. Assertions are on the documents
// the daemon would receive and on what the upstream saw.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startUdpDaemon, findSubsegments, type UdpDaemon, type XrayDocument } from '../helpers/udp-daemon';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as http from 'node:http';
import { spawnApp, httpRequest, repoRoot, type Loader, type RunningApp } from '../helpers/spawn-app';
import { startUpstream, headerFields, type Upstream } from '../helpers/upstream';

const ALWAYS = JSON.stringify({ version: 2, default: { fixed_target: 0, rate: 1 } });
const ROOT = '1-5759e988-bd862e3fe1be46a994272793';
const TRACE_ID_RE = /^1-[0-9a-f]{8}-[0-9a-f]{24}$/;
const ID_RE = /^[0-9a-f]{16}$/;
const AGENT_VERSION = (JSON.parse(readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;

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

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    AWS_XRAY_DAEMON_ADDRESS: daemon.address,
    AWS_XRAY_TRACING_NAME: 'orders-api',
    AWS_XRAY_SAMPLING_RULES: ALWAYS,
    UPSTREAM_URL: upstream.url,
    ...extra,
  };
}

async function withApp<T>(loader: Loader, script: string, fn: (app: RunningApp) => Promise<T>, extraEnv?: Record<string, string>): Promise<T> {
  const app = await spawnApp({ script, loader, env: env(extraEnv) });
  try {
    return await fn(app);
  } finally {
    await app.stop();
  }
}

function segmentFor(docs: readonly XrayDocument[], traceId: string): XrayDocument | undefined {
  return docs.find((d) => d.trace_id === traceId && d.type !== 'subsegment');
}

for (const [loader, script] of [
  ['require', 'http-app.js'],
  ['import', 'http-app.mjs'],
  ['node-options', 'http-app.js'],
  ['both', 'http-app.mjs'],
] as Array<[Loader, string]>) {
  test(`incoming request segment and downstream subsegments (${loader}, ${script})`, async () => {
    daemon.clear();
    upstream.requests.length = 0;
    await withApp(loader, script, async (app) => {
      const res = await httpRequest(app.url('/downstream?user=1&password=hunter2'), {
        headers: { 'x-amzn-trace-id': `Root=${ROOT};Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1`, 'user-agent': 'e2e/1.0' },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(res.body), { a: 'upstream /a', b: 'upstream /b', c: 'upstream /d' });
      assert.equal(res.headers['x-amzn-trace-id'], `Root=${ROOT}`);

      const docs = await daemon.waitFor((d) => segmentFor(d, ROOT) !== undefined);
      const segments = docs.filter((d) => d.trace_id === ROOT && d.type !== 'subsegment');
      assert.equal(segments.length, 1, 'exactly one segment per request, whatever the loader flags');
      const seg = segments[0];
      assert.equal(seg.name, 'orders-api');
      assert.match(seg.id, ID_RE);
      assert.equal(seg.parent_id, '53995c3f42cd8ad8');
      assert.equal(typeof seg.start_time, 'number');
      assert.ok((seg.end_time as number) >= (seg.start_time as number));
      assert.equal(seg.in_progress, undefined);
      assert.deepEqual(seg.http?.request, {
        method: 'GET',
        url: `http://127.0.0.1:${app.port}/downstream`,
        user_agent: 'e2e/1.0',
        client_ip: '127.0.0.1',
      });
      // Node computed the length of the body given whole to end(): it went out in the head.
      assert.deepEqual(seg.http?.response, { status: 200, content_length: Buffer.byteLength(res.body) });
      assert.equal(res.headers['content-length'], String(Buffer.byteLength(res.body)));
      assert.equal(seg.fault, undefined);
      assert.equal(seg.error, undefined);
      const xray = (seg.aws as { xray: Record<string, unknown> }).xray;
      assert.equal(xray.sdk, 'X-Ray for Node.js');
      assert.equal(xray.auto_instrumentation, true);
      assert.equal(xray.agent, '@xray/agent');
      assert.equal(xray.sdk_version, AGENT_VERSION, 'the agent version from its package.json');
      assert.deepEqual(seg.service, { runtime: 'node', runtime_version: process.version });

      const subs = seg.subsegments ?? [];
      assert.deepEqual(
        subs.map((s) => s.http?.request?.url),
        [`${upstream.url}/a`, `${upstream.url}/b`, `${upstream.url}/c`, `${upstream.url}/d`],
        'query strings are stripped from recorded URLs',
      );
      for (const s of subs) {
        assert.equal(s.name, '127.0.0.1');
        assert.equal(s.namespace, 'remote');
        assert.match(s.id, ID_RE);
        assert.equal(s.http?.request?.method, 'GET');
        assert.equal(s.http?.response?.status, 200);
        assert.equal(typeof s.http?.response?.content_length, 'number');
        assert.ok((s.start_time as number) >= (seg.start_time as number));
        assert.ok((s.end_time as number) <= (seg.end_time as number));
      }

      // What the upstream received: this trace, Parent = the subsegment that made the call,
      // the upstream's Lineage passed through.
      const seen = upstream.requests.filter((r) => r.path !== '/status');
      assert.equal(seen.length, 4);
      for (const [i, r] of seen.entries()) {
        const f = headerFields(r.traceHeader);
        assert.equal(f.Root, ROOT);
        assert.equal(f.Parent, subs[i].id, `call ${r.path} carries its own subsegment id`);
        assert.equal(f.Sampled, '1');
        assert.equal(f.Lineage, 'a87bd80c:1');
      }
    });
  });
}

test('the response trace header: added once whatever way the app writes its head; an app\'s own value is kept', async () => {
  daemon.clear();
  await withApp('require', 'http-app.js', async (app) => {
    for (const via of ['object', 'array', 'setHeader']) {
      const ours = await httpRequest(app.url(`/head?via=${via}`), { headers: { 'x-amzn-trace-id': `Root=${ROOT};Sampled=1` } });
      assert.equal(ours.status, 200, via);
      assert.equal(ours.body, 'head', via);
      assert.equal(ours.headers['content-type'], 'text/plain', via);
      // Node joins repeated headers with ", ": equality also proves the line is there once.
      assert.equal(ours.headers['x-amzn-trace-id'], `Root=${ROOT}`, via);

      const own = await httpRequest(app.url(`/head?via=${via}&own=app-value`), { headers: { 'x-amzn-trace-id': `Root=${ROOT};Sampled=1` } });
      assert.equal(own.headers['x-amzn-trace-id'], 'app-value', `${via}: the app's own header, not ours, and only once`);
      assert.equal(own.body, 'head', via);
    }
    // Every request was still traced.
    await daemon.waitFor((d) => d.filter((x) => x.trace_id === ROOT && x.http?.request?.url?.endsWith('/head')).length >= 6);
  });
});

test('the response content length is recorded however the head got it; none for a chunked body', async () => {
  daemon.clear();
  await withApp('require', 'http-app.js', async (app) => {
    // [route, the length the segment must record]: the app's own length in writeHead's object or
    // array or through setHeader, Node's for a body given whole to end(), none for a chunked body.
    const cases: Array<[string, number | undefined]> = [
      ['/head?via=object&cl=1', 4],
      ['/head?via=array&cl=1', 4],
      ['/head?via=setHeader&cl=1', 4],
      ['/head?via=setHeader', 4],
      ['/hello', 5],
      ['/head?via=object', undefined],
    ];
    for (const [i, [route, length]] of cases.entries()) {
      const root = `1-5759e988-${String(i + 1).padStart(24, 'c')}`;
      const res = await httpRequest(app.url(route), { headers: { 'x-amzn-trace-id': `Root=${root};Sampled=1` } });
      assert.equal(res.status, 200, route);
      // What went on the wire, which the segment must agree with.
      assert.equal(res.headers['content-length'], length === undefined ? undefined : String(length), route);
      assert.equal(res.headers['transfer-encoding'], length === undefined ? 'chunked' : undefined, route);
      const seg = segmentFor(await daemon.waitFor((d) => segmentFor(d, root) !== undefined), root)!;
      assert.deepEqual(seg.http?.response, length === undefined ? { status: 200 } : { status: 200, content_length: length }, route);
    }
  });
});

test('status codes set error, throttle and fault flags; downstream statuses too', async () => {
  daemon.clear();
  await withApp('require', 'http-app.js', async (app) => {
    const cases: Array<[number, Partial<Record<'error' | 'throttle' | 'fault', boolean>>]> = [
      [404, { error: true }],
      [429, { error: true, throttle: true }],
      [503, { fault: true }],
      [201, {}],
    ];
    for (const [code, flags] of cases) {
      const root = `1-5759e988-${String(code).padStart(24, '0')}`;
      await httpRequest(app.url(`/status?code=${code}`), { headers: { 'x-amzn-trace-id': `Root=${root};Sampled=1` } });
      const seg = segmentFor(await daemon.waitFor((d) => segmentFor(d, root) !== undefined), root)!;
      assert.equal(seg.http?.response?.status, code);
      assert.deepEqual({ error: seg.error, throttle: seg.throttle, fault: seg.fault }, { error: undefined, throttle: undefined, fault: undefined, ...flags }, `status ${code}`);
    }
    const root = '1-5759e988-00000000000000000000d503';
    await httpRequest(app.url('/downstream-status?code=503'), { headers: { 'x-amzn-trace-id': `Root=${root};Sampled=1` } });
    const seg = segmentFor(await daemon.waitFor((d) => segmentFor(d, root) !== undefined), root)!;
    assert.equal(seg.fault, undefined, 'the app answered 200 itself');
    const [sub] = seg.subsegments ?? [];
    assert.equal(sub.http?.response?.status, 503);
    assert.equal(sub.fault, true);
  });
});

test('connection refused is recorded as cause with fault, for http and fetch', async () => {
  daemon.clear();
  await withApp('require', 'http-app.js', async (app) => {
    const closed = await startUpstream();
    const port = closed.port;
    await closed.close();
    const root = '1-5759e988-0000000000000000000ec0ff';
    const res = await httpRequest(app.url(`/refused?port=${port}`), { headers: { 'x-amzn-trace-id': `Root=${root};Sampled=1` } });
    assert.equal(res.body, 'ECONNREFUSED,ECONNREFUSED', 'the app sees exactly the errors it would without the agent');
    const seg = segmentFor(await daemon.waitFor((d) => segmentFor(d, root) !== undefined), root)!;
    const subs = seg.subsegments ?? [];
    assert.equal(subs.length, 2);
    for (const sub of subs) {
      assert.equal(sub.fault, true);
      assert.equal(sub.http?.response, undefined);
      const cause = sub.cause as { working_directory: string; exceptions: Array<{ id: string; type: string; message: string }> };
      assert.equal(typeof cause.working_directory, 'string');
      assert.match(cause.exceptions[0].id, ID_RE);
      assert.match(cause.exceptions[0].message + ' ' + cause.exceptions[0].type, /ECONNREFUSED/);
    }
  });
});

test('an exception thrown by the request handler is recorded as the segment cause', async () => {
  daemon.clear();
  await withApp('require', 'http-app.js', async (app) => {
    const root = '1-5759e988-000000000000000000000b0e';
    const res = await httpRequest(app.url('/throw'), { headers: { 'x-amzn-trace-id': `Root=${root};Sampled=1` } });
    assert.equal(res.status, 500);
    assert.equal(res.body, 'uncaught: handler exploded', "the app's own uncaughtException handler saw the original error");
    const seg = segmentFor(await daemon.waitFor((d) => segmentFor(d, root) !== undefined), root)!;
    assert.equal(seg.fault, true);
    const ex = (seg.cause as { exceptions: Array<{ type: string; message: string; stack: Array<{ path: string; line: number; label: string }> }> }).exceptions[0];
    assert.equal(ex.type, 'RangeError');
    assert.equal(ex.message, 'handler exploded');
    assert.ok(ex.stack.some((f) => f.path.endsWith('routes.js') && f.line > 0), 'stack frames point into the app');
  });
});

test('manual API: annotations, metadata, user, captureFunc, captureAsyncFunc, captureCallbackFunc', async () => {
  daemon.clear();
  await withApp('require', 'http-app.js', async (app) => {
    const root = '1-5759e988-00000000000000000000a11a';
    const res = await httpRequest(app.url('/manual'), { headers: { 'x-amzn-trace-id': `Root=${root};Sampled=1` } });
    assert.equal(res.body, 'sum=4 called');
    const seg = segmentFor(await daemon.waitFor((d) => segmentFor(d, root) !== undefined), root)!;
    assert.deepEqual(seg.annotations, { tenant: 'acme' }, 'the invalid key was dropped');
    assert.deepEqual(seg.metadata, { default: { cart: { items: 3, big: '10' } } });
    assert.equal(seg.user, 'u-42');
    const byName = new Map((seg.subsegments ?? []).map((s) => [s.name, s]));
    assert.deepEqual([...byName.keys()], ['compute', 'failing', 'async-work', 'later']);
    assert.deepEqual(byName.get('compute')!.annotations, { step: 1 });
    const failing = byName.get('failing')!;
    assert.equal(failing.fault, true);
    assert.equal((failing.cause as { exceptions: Array<{ type: string }> }).exceptions[0].type, 'TypeError');
    assert.deepEqual(byName.get('async-work')!.metadata, { work: { done: true } });
    for (const s of byName.values()) assert.equal(typeof s.end_time, 'number');
  });
});

test('manual API, code written for the SDK: unsampled requests get subsegments that take every call; a late callback is in its segment', async () => {
  daemon.clear();
  await withApp('require', 'http-app.js', async (app) => {
    const unsampled = await httpRequest(app.url('/manual-sdk-style'), { headers: { 'x-amzn-trace-id': 'Root=1-5759e988-00000000000000000000a11b;Sampled=0' } });
    assert.equal(unsampled.status, 200, unsampled.body);
    assert.equal(unsampled.body, 'n=2');

    const root = '1-5759e988-00000000000000000000a11c';
    const res = await httpRequest(app.url('/manual-sdk-style'), { headers: { 'x-amzn-trace-id': `Root=${root};Sampled=1` } });
    assert.equal(res.body, 'n=2');
    const docs = await daemon.waitFor((d) => segmentFor(d, root) !== undefined);
    const seg = segmentFor(docs, root)!;
    const names = (seg.subsegments ?? []).map((s) => s.name);
    assert.deepEqual(names, ['sdk-child', 'sdk-async', 'sdk-sync', 'load', 'late-callback']);
    const byName = new Map((seg.subsegments ?? []).map((s) => [s.name, s]));
    assert.deepEqual(byName.get('late-callback')!.annotations, { late: true }, 'the late callback ran in its subsegment, inside the trace');
    assert.deepEqual(byName.get('sdk-child')!.annotations, { step: 'one' });
    assert.deepEqual(byName.get('sdk-async')!.metadata, { default: { k: 'v' } });
    assert.deepEqual(byName.get('load')!.subsegments?.map((s) => s.name), ['after-load']);
    assert.equal(daemon.documents.filter((d) => d.trace_id === root).length, 1, 'one document, nothing sent twice');
  });
});

test('streaming: work started in a subsegment\'s context after it was sent goes on its own, and the subsegment is not sent again', async () => {
  daemon.clear();
  await withApp(
    'require',
    'http-app.js',
    async (app) => {
      // The continuation's subsegment closes before the response ends, then after it.
      for (const [i, child] of ['early', 'late'].entries()) {
        const root = `1-5759e988-00000000000000000000a12${i}`;
        const res = await httpRequest(app.url(`/manual-sdk-style?child=${child}`), { headers: { 'x-amzn-trace-id': `Root=${root};Sampled=1` } });
        assert.equal(res.body, 'n=2');
        const docs = await daemon.waitFor((d) => segmentFor(d, root) !== undefined && d.some((x) => x.trace_id === root && x.name === 'after-load'));
        const ofTrace = docs.filter((d) => d.trace_id === root);
        // Every entity of the trace, embedded ones included.
        const all: XrayDocument[] = [];
        const walk = (e: XrayDocument) => {
          all.push(e);
          for (const c of (e.subsegments ?? []) as XrayDocument[]) walk(c);
        };
        ofTrace.forEach(walk);
        const count = (name: string) => all.filter((d) => d.name === name).length;
        for (const name of ['load', 'after-load', 'late-callback', 'sdk-child']) assert.equal(count(name), 1, `${child}: ${name} sent exactly once`);
        const load = all.find((d) => d.name === 'load')!;
        const after = all.find((d) => d.name === 'after-load')!;
        assert.equal(after.type, 'subsegment');
        assert.equal(after.parent_id, load.id, `${child}: linked to the subsegment it was started in`);
        assert.equal(load.subsegments, undefined, `${child}: the sent subsegment was not sent again with it`);
      }
    },
    { AWS_XRAY_STREAMING_THRESHOLD: '0' },
  );
});

test('the rest of the SDK surface: middleware helpers give the request\'s segment, instanceof holds, new Segment() for a background job is recorded', async () => {
  daemon.clear();
  await withApp('require', 'http-app.js', async (app) => {
    const root = '1-5759e988-00000000000000000000a13a';
    const jobRoot = '1-5759e988-00000000000000000000a13b';
    const res = await httpRequest(app.url(`/sdk-compat?root=${jobRoot}`), { headers: { 'x-amzn-trace-id': `Root=${root};Sampled=1` } });
    assert.deepEqual(JSON.parse(res.body), { same: true, opened: true, passedOn: 'route failed', segmentIs: true, subsegmentIs: true });
    const docs = await daemon.waitFor((d) => segmentFor(d, root) !== undefined && segmentFor(d, jobRoot) !== undefined);
    assert.deepEqual(segmentFor(docs, root)!.annotations, { via: 'middleware' });
    const job = segmentFor(docs, jobRoot)!;
    assert.equal(job.name, 'nightly-job');
    assert.equal(job.parent_id, '53995c3f42cd8ad8');
    assert.deepEqual(job.annotations, { kind: 'batch' });
    assert.deepEqual(job.subsegments?.map((s) => s.name), ['step']);
  });
});

test('50 concurrent requests: every subsegment and upstream header belongs to its own trace', async () => {
  daemon.clear();
  upstream.requests.length = 0;
  await withApp('require', 'http-app.js', async (app) => {
    const roots = Array.from({ length: 50 }, (_, i) => `1-5759e988-${(i + 1).toString(16).padStart(24, '0')}`);
    const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 50 });
    await Promise.all(
      roots.map((root, i) =>
        httpRequest(app.url(`/slow?ms=${(i * 7) % 40}`), { agent, headers: { 'x-amzn-trace-id': `Root=${root};Sampled=1` } }),
      ),
    );
    agent.destroy();
    const docs = await daemon.waitFor((d) => roots.every((r) => segmentFor(d, r) !== undefined), 10_000);
    const subIdToRoot = new Map<string, string>();
    for (const root of roots) {
      const seg = segmentFor(docs, root)!;
      const subs = seg.subsegments ?? [];
      assert.equal(subs.length, 1, `trace ${root} has exactly its own downstream call`);
      subIdToRoot.set(subs[0].id, root);
    }
    const echoes = upstream.requests.filter((r) => r.path === '/echo');
    assert.equal(echoes.length, 50);
    for (const r of echoes) {
      const f = headerFields(r.traceHeader);
      assert.equal(subIdToRoot.get(f.Parent), f.Root, 'the Parent sent upstream is a subsegment of the same trace');
    }
  });
});

test('400 downstream calls: streamed as independent subsegments, every datagram within budget', async () => {
  daemon.clear();
  await withApp('require', 'http-app.js', async (app) => {
    const root = '1-5759e988-000000000000000000000400';
    const res = await httpRequest(app.url('/many?n=400&parallel=20'), { headers: { 'x-amzn-trace-id': `Root=${root};Sampled=1` } });
    assert.equal(res.body, 'made 400 calls');
    const docs = await daemon.waitFor((d) => segmentFor(d, root) !== undefined, 10_000);
    // Streamed subsegments may still be in flight when the segment arrives; all are sent first.
    await new Promise((r) => setTimeout(r, 200));
    const mine = daemon.documents.filter((d) => d.trace_id === root);
    const seg = segmentFor(mine, root)!;
    const streamed = mine.filter((d) => d.type === 'subsegment');
    assert.ok(streamed.length > 0, 'some subsegments were streamed on their own');
    for (const s of streamed) assert.equal(s.parent_id, seg.id);
    const all = [...streamed, ...findSubsegments(seg, () => true)];
    assert.equal(all.length, 400, 'every call is recorded exactly once');
    assert.equal(new Set(all.map((s) => s.id)).size, 400);
    for (const d of daemon.datagrams) assert.ok(d.length <= 64512, `datagram of ${d.length} bytes`);
    assert.equal(daemon.rejected.length, 0);
    void docs;
  });
});

test('sampling: upstream decisions are honoured, Sampled=? is answered, unsampled sends nothing', async () => {
  daemon.clear();
  upstream.requests.length = 0;
  await withApp('require', 'http-app.js', async (app) => {
    const unsampled = '1-5759e988-0000000000000000000000a0';
    await httpRequest(app.url('/slow?ms=1'), { headers: { 'x-amzn-trace-id': `Root=${unsampled};Parent=53995c3f42cd8ad8;Sampled=0` } });
    const f = headerFields(upstream.requests.at(-1)?.traceHeader);
    assert.equal(f.Root, unsampled, 'the trace still propagates');
    assert.equal(f.Sampled, '0');
    assert.match(f.Parent, ID_RE);

    const ask = '1-5759e988-0000000000000000000000a1';
    const res = await httpRequest(app.url('/hello'), { headers: { 'x-amzn-trace-id': `Root=${ask};Sampled=?` } });
    assert.equal(res.headers['x-amzn-trace-id'], `Root=${ask};Sampled=1`);
    await daemon.waitFor((d) => segmentFor(d, ask) !== undefined);
    assert.equal(daemon.documents.filter((d) => d.trace_id === unsampled).length, 0, 'nothing sent for Sampled=0');
  });
});

test('local sampling rules: rate 0 for /health, everything else traced', async () => {
  daemon.clear();
  const rules = JSON.stringify({
    version: 2,
    rules: [{ description: 'health', host: '*', http_method: 'GET', url_path: '/status*', fixed_target: 0, rate: 0 }],
    default: { fixed_target: 0, rate: 1 },
  });
  await withApp(
    'require',
    'http-app.js',
    async (app) => {
      for (let i = 0; i < 5; i++) await httpRequest(app.url('/status?code=200'));
      await httpRequest(app.url('/hello'));
      await daemon.waitFor((d) => d.some((x) => x.http?.request?.url?.endsWith('/hello')));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(daemon.documents.filter((x) => x.http?.request?.url?.includes('/status')).length, 0);
      assert.equal(daemon.segments().length, 1);
    },
    { AWS_XRAY_SAMPLING_RULES: rules },
  );
});

test('no incoming header: a new trace id, and the built-in default samples the first request', async () => {
  daemon.clear();
  await withApp(
    'require',
    'http-app.js',
    async (app) => {
      const res = await httpRequest(app.url('/hello'));
      const root = headerFields(res.headers['x-amzn-trace-id'] as string).Root;
      assert.match(root, TRACE_ID_RE);
      const seg = segmentFor(await daemon.waitFor((d) => segmentFor(d, root) !== undefined), root)!;
      assert.equal(seg.parent_id, undefined);
      assert.equal(seg.http?.response?.content_length, 5);
      const epoch = parseInt(root.slice(2, 10), 16);
      assert.ok(Math.abs(epoch - Date.now() / 1000) < 60, 'trace id carries the current epoch seconds');
    },
    { AWS_XRAY_SAMPLING_RULES: '' },
  );
});

test('listeners on the request body run in the request context (body sent in two chunks)', async () => {
  daemon.clear();
  upstream.requests.length = 0;
  await withApp('require', 'http-app.js', async (app) => {
    const root = '1-5759e988-0000000000000000000b0d1e';
    const http = await import('node:http');
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.request(app.url('/body'), { method: 'POST', agent: false, headers: { 'x-amzn-trace-id': `Root=${root};Sampled=1` } }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.write('first half,');
      setTimeout(() => req.end('second half'), 30);
    });
    assert.equal(body, 'got 22 bytes');
    const seg = segmentFor(await daemon.waitFor((d) => segmentFor(d, root) !== undefined), root)!;
    assert.equal(seg.subsegments?.length, 1, 'the call made from the body listener is in the request segment');
    const f = headerFields(upstream.requests.find((r) => r.path === '/after-body')?.traceHeader);
    assert.equal(f.Root, root);
    assert.equal(f.Parent, seg.subsegments?.[0].id);
  });
});

test("Node's own end-of-response work runs outside the finished request: its keep-alive timer holds no segment; the app's 'finish' listeners still run in the request", async () => {
  await withApp(
    'require',
    'http-app.js',
    async (app) => {
      const net = await import('node:net');
      // A raw keep-alive client that keeps its connection open (Node's http.Agent closes an idle
      // socket a second before the server's announced keep-alive timeout): the server's own idle
      // timer (keepAliveTimeout, 1 s in the fixture) then fires and emits the socket's 'timeout'.
      const idleClient = (path: string) =>
        new Promise<{ segmentId: string; socket: import('node:net').Socket }>((resolve, reject) => {
          const socket = net.connect(Number(new URL(app.url('/')).port), '127.0.0.1');
          let text = '';
          socket.setEncoding('utf8');
          socket.on('data', (d) => {
            text += d;
            const m = /x-segment-id: ([0-9a-f]{16})/i.exec(text);
            if (m && text.includes('\r\n\r\nok')) resolve({ segmentId: m[1], socket });
          });
          socket.on('error', reject);
          socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`);
        });
      const plain = await idleClient('/idle-context?key=plain');
      const withListener = await idleClient('/idle-context?key=listener&app-finish=1');
      try {
        let seen: Record<string, string> = {};
        const deadline = Date.now() + 5000;
        while (Date.now() < deadline) {
          seen = JSON.parse((await httpRequest(app.url('/seen'))).body) as Record<string, string>;
          if (seen['plain:timeout'] !== undefined && seen['listener:timeout'] !== undefined) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(seen['plain:timeout'], 'none', `the idle timer after a finished request runs without its segment (${plain.segmentId})`);
        assert.equal(seen['listener:finish'], 'request', "the app's own 'finish' listener sees the request's segment");
        assert.ok(seen['listener:timeout'] !== undefined, 'the second connection timed out too');
      } finally {
        plain.socket.destroy();
        withListener.socket.destroy();
      }
    },
    { AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR' },
  );
});

/** A POST with an Expect header; with `100-continue`, the body is sent once the server asks for it. */
async function postWithExpect(url: string, expect: string, traceHeader: string): Promise<{ status: number; body: string; traceHeader: string | undefined }> {
  const http = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { expect, 'content-length': 11, 'x-amzn-trace-id': traceHeader } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, traceHeader: res.headers['x-amzn-trace-id'] as string | undefined }));
    });
    req.on('error', reject);
    if (expect === '100-continue') req.on('continue', () => req.end('upload body'));
    else req.end('upload body');
  });
}

test("requests Node hands over as 'checkContinue' or 'checkExpectation' get one segment each, handled there or handed on to 'request'", async () => {
  daemon.clear();
  upstream.requests.length = 0;
  await withApp('require', 'expect-app.js', async (app) => {
    for (const [path, root] of [
      ['/own', '1-5759e988-00000000000000000000c0de'],
      ['/handed-on', '1-5759e988-00000000000000000000c0df'],
    ]) {
      const res = await postWithExpect(app.url(path), '100-continue', `Root=${root};Sampled=1`);
      assert.equal(res.status, 200);
      assert.equal(res.body, 'stored 11 bytes', 'the app is served as without the agent');
      assert.match(res.traceHeader ?? '', new RegExp(`^Root=${root}`), `${path}: the response carries the trace header`);
      const seg = segmentFor(await daemon.waitFor((d) => segmentFor(d, root) !== undefined), root)!;
      const request = seg.http?.request as Record<string, unknown> | undefined;
      assert.equal(request?.method, 'POST');
      assert.equal(request?.url, app.url(path));
      assert.equal((seg.http?.response as Record<string, unknown> | undefined)?.status, 200);
      assert.equal(seg.subsegments?.length, 1, `${path}: the downstream call is in the request's segment`);
      const seen = upstream.requests.filter((r) => r.path === '/after-upload' && headerFields(r.traceHeader).Root === root);
      assert.equal(seen.length, 1);
      assert.equal(headerFields(seen[0].traceHeader).Parent, seg.subsegments?.[0].id);
    }
    const root = '1-5759e988-00000000000000000000c0e0';
    const refused = await postWithExpect(app.url('/other'), 'something-else', `Root=${root};Sampled=1`);
    assert.equal(refused.status, 417);
    const seg = segmentFor(await daemon.waitFor((d) => segmentFor(d, root) !== undefined), root)!;
    assert.equal((seg.http?.response as Record<string, unknown> | undefined)?.status, 417);
    assert.equal(seg.error, true, 'a 4xx answer sets error');
    // A second segment started for a handed-on request would never end: with one open segment
    // allowed (below), that request would still count as open, and this one would go untraced.
    // Datagrams leave in order, and loopback keeps it: a second segment for one of the first two
    // requests would have arrived before this last one.
    for (const r of ['1-5759e988-00000000000000000000c0de', '1-5759e988-00000000000000000000c0df', root]) {
      const segments = daemon.documents.filter((d) => d.trace_id === r && d.type !== 'subsegment');
      assert.equal(segments.length, 1, `${r}: exactly one segment for the request`);
    }
  }, { AWS_XRAY_MAX_OPEN_SEGMENTS: '1' });
});

test('outgoing requests whose head Node builds at once (raw header array, Expect) carry the trace header; a call through a forward proxy is recorded as the call to its target', async () => {
  daemon.clear();
  upstream.requests.length = 0;
  const root = '1-5759e988-0000000000000000000f0a3d';
  const foreign = 'Root=1-5759e988-00000000000000000000beef;Parent=53995c3f42cd8ad8;Sampled=1';
  await withApp('require', 'http-app.js', async (app) => {
    const res = await httpRequest(app.url(`/downstream-forms?own=${encodeURIComponent(foreign)}`), { headers: { 'x-amzn-trace-id': `Root=${root};Sampled=1` } });
    assert.equal(res.body, '200,200,200,200,200', 'every call answered as without the agent');
    const seg = segmentFor(await daemon.waitFor((d) => segmentFor(d, root) !== undefined), root)!;
    const subs = seg.subsegments ?? [];
    const upstreamHost = new URL(upstream.url).host;
    assert.deepEqual(
      subs.map((s) => [s.name, s.http?.request?.method, s.http?.request?.url]),
      [
        ['127.0.0.1', 'GET', `http://${upstreamHost}/raw-headers`],
        ['127.0.0.1', 'POST', `http://${upstreamHost}/expect`],
        ['127.0.0.1', 'GET', `http://${upstreamHost}/raw-own`],
        ['127.0.0.1', 'GET', `http://${upstreamHost}/array-own`],
        ['inventory.internal', 'GET', 'http://inventory.internal:8080/through-proxy'],
      ],
      'the port called is in the URL; the proxied call is named after its target',
    );
    const byPath = (p: string) => upstream.requests.find((r) => r.path === p);
    for (const [p, sub] of [['/raw-headers', subs[0]], ['/expect', subs[1]], ['http://inventory.internal:8080/through-proxy?sku=1', subs[4]]] as const) {
      const f = headerFields(byPath(p)?.traceHeader);
      assert.equal(f.Root, root, `${p}: this trace`);
      assert.equal(f.Parent, sub.id, `${p}: the subsegment that made the call`);
    }
    assert.equal(byPath('/raw-own')?.traceHeader, foreign, "the app's own header for another trace is sent as it was");
    assert.equal(byPath('/array-own')?.traceHeader, foreign, "also when the app set it as an array");
  });
});

test('outgoing calls are recorded with the host and port they connect to, whatever their Host header says; IPv6 in brackets', async (t) => {
  daemon.clear();
  // A server of the test's on the IPv6 loopback address, when this machine has one.
  const v6 = await new Promise<import('node:http').Server | undefined>((resolve) => {
    const server = http.createServer((_req, res) => res.end('v6'));
    server.once('error', () => resolve(undefined));
    server.listen(0, '::1', () => resolve(server));
  });
  if (v6 === undefined) t.diagnostic('no IPv6 loopback here: the IPv6 calls are left out');
  const root = '1-5759e988-0000000000000000000f0b3e';
  try {
    await withApp('require', 'http-app.js', async (app) => {
      const v6port = v6 === undefined ? undefined : (v6.address() as { port: number }).port;
      const query = v6port === undefined ? '' : `?v6port=${v6port}`;
      const res = await httpRequest(app.url(`/downstream-targets${query}`), { headers: { 'x-amzn-trace-id': `Root=${root};Sampled=1` } });
      // Node's server answers a request without Host with 400, with the agent as without it.
      assert.equal(res.body, v6port === undefined ? '200,400,200' : '200,400,200,200,200');
      const seg = segmentFor(await daemon.waitFor((d) => segmentFor(d, root) !== undefined), root)!;
      const upstreamHost = new URL(upstream.url).host;
      const expected = [
        ['127.0.0.1', `http://${upstreamHost}/virtual-host`],
        ['127.0.0.1', `http://${upstreamHost}/no-host`],
        ['127.0.0.1', `http://${upstreamHost}/proxied`],
      ];
      if (v6port !== undefined) expected.push(['::1', `http://[::1]:${v6port}/v6-options`], ['::1', `http://[::1]:${v6port}/v6-text`]);
      assert.deepEqual(
        (seg.subsegments ?? []).map((s) => [s.name, s.http?.request?.url]),
        expected,
      );
    });
  } finally {
    v6?.close();
  }
});

test('pipelined requests cut off by the client: every segment is still sent, the queued ones as client aborts', async () => {
  daemon.clear();
  await withApp('require', 'http-app.js', async (app) => {
    const net = await import('node:net');
    const roots = Array.from({ length: 5 }, (_, i) => `1-5759e988-00000000000000000000b00${i}`);
    const socket = net.connect(app.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.on('error', () => {});
    // Five requests on one connection at once; the connection goes before the first is answered.
    socket.write(roots.map((r) => `GET /slow?ms=80 HTTP/1.1\r\nHost: x\r\nX-Amzn-Trace-Id: Root=${r};Sampled=1\r\n\r\n`).join(''));
    await new Promise((r) => setTimeout(r, 30));
    socket.destroy();
    const docs = await daemon.waitFor((d) => roots.every((r) => segmentFor(d, r) !== undefined), 5000);
    for (const root of roots) {
      const seg = segmentFor(docs, root)!;
      assert.equal(seg.error, true, `${root}: a client abort`);
      assert.equal(seg.in_progress, undefined);
    }
  });
});

test('a request in absolute form (as a forward proxy receives it) is recorded with its own URL, without user info', async () => {
  daemon.clear();
  await withApp('require', 'http-app.js', async (app) => {
    const net = await import('node:net');
    const send = (target: string, root: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = net.connect(app.port, '127.0.0.1');
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (d) => (text += d));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
        socket.write(`GET ${target} HTTP/1.1\r\nHost: shop.example:8080\r\nX-Amzn-Trace-Id: Root=${root};Sampled=1\r\nConnection: close\r\n\r\n`);
      });
    const cases = [
      ['http://shop.example:8080/hello?ref=mail', '1-5759e988-0000000000000000000ab501', 'http://shop.example:8080/hello'],
      ['https://user:secret@secure.example/hello', '1-5759e988-0000000000000000000ab502', 'https://secure.example/hello'],
    ];
    for (const [target, root, url] of cases) {
      const raw = await send(target, root);
      assert.match(raw, /^HTTP\/1\.1 200 /, target);
      assert.match(raw, /\r\n\r\nhello$/, `${target}: the app is served as without the agent`);
      const seg = segmentFor(await daemon.waitFor((d) => segmentFor(d, root) !== undefined), root)!;
      assert.equal(seg.http?.request?.url, url);
    }
  });
});
