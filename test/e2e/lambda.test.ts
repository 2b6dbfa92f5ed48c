// End-to-end in a stand-in Lambda runtime (test/fixtures/lambda/runner.mjs, driven by
// test/helpers/lambda-harness.ts): `node --require @xray/agent` with the variables Lambda sets, a
// UDP test daemon, a local upstream. The runner exits right after the last invocation's result, as
// a frozen sandbox would. Most runs add `--test-udp-no-try-send`, a Node flag that makes every UDP
// send wait for the event loop (as a busy socket would): without the agent's flush before the result
// goes back, the last documents of an invocation are then lost (the control test shows it).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startUdpDaemon, type UdpDaemon, type XrayDocument } from '../helpers/udp-daemon';
import { startUpstream, headerFields, type Upstream } from '../helpers/upstream';
import { runLambda, newId, newRoot, traceHeader, type Invocation, type LambdaRun, type LambdaRunOptions } from '../helpers/lambda-harness';

const ASYNC_SENDS = ['--test-udp-no-try-send'];

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

function run(opts: Omit<LambdaRunOptions, 'daemonAddress' | 'upstreamUrl'>): Promise<LambdaRun> {
  return runLambda({ daemonAddress: daemon.address, upstreamUrl: upstream.url, ...opts });
}

interface Traced {
  root: string;
  parent: string;
  inv: Invocation;
}

function sampledInvocations(n: number, first = 0): Traced[] {
  return Array.from({ length: n }, (_, i) => {
    const root = newRoot();
    const parent = newId();
    return { root, parent, inv: { event: { n: first + i }, traceHeader: traceHeader(root, parent) } };
  });
}

/** Waits until `count` documents of `root` arrived, then a little longer to catch extras. */
async function docsOf(root: string, count: number): Promise<XrayDocument[]> {
  await daemon.waitFor((docs) => docs.filter((d) => d.trace_id === root).length >= count, 5000);
  await new Promise((r) => setTimeout(r, 100));
  return daemon.documents.filter((d) => d.trace_id === root);
}

function byName(docs: readonly XrayDocument[], name: string): XrayDocument[] {
  return docs.filter((d) => d.name === name);
}

function urlOf(d: XrayDocument): string {
  return String(d.http?.request?.url ?? '');
}

/**
 * The documents of one invocation of index.handler: GET /a, compute, outer{GET /b}, each an
 * independent subsegment of Lambda's segment (the facade), /b under outer.
 */
function assertIndexInvocation(docs: readonly XrayDocument[], t: Traced): void {
  assert.equal(docs.length, 4, `4 documents for ${t.root}: ${docs.map((d) => d.name).join(', ')}`);
  for (const d of docs) {
    assert.equal(d.type, 'subsegment', 'only independent subsegments: the function segment is Lambda\'s');
    assert.equal(d.trace_id, t.root);
    assert.equal(typeof d.end_time, 'number');
    assert.equal(d.in_progress, undefined);
  }
  const [outer] = byName(docs, 'outer');
  const [compute] = byName(docs, 'compute');
  const http = byName(docs, '127.0.0.1');
  assert.ok(outer && compute && http.length === 2);
  const a = http.find((d) => urlOf(d).endsWith('/a'))!;
  const b = http.find((d) => urlOf(d).endsWith('/b'))!;
  assert.equal(a.parent_id, t.parent, 'GET /a hangs under the Lambda function segment');
  assert.equal(compute.parent_id, t.parent);
  assert.equal(outer.parent_id, t.parent);
  assert.equal(b.parent_id, outer.id, 'GET /b hangs under outer');
  assert.equal(a.http?.response?.status, 200);
}

function upstreamHeader(path: string): Record<string, string> {
  const r = upstream.requests.find((q) => q.path === path);
  assert.ok(r, `upstream saw ${path}`);
  return headerFields(r.traceHeader);
}

test('CommonJS async handler: every subsegment of every invocation arrives under its invocation, nothing lost at the freeze', async () => {
  daemon.clear();
  upstream.requests.length = 0;
  const invs = sampledInvocations(3, 100);
  const r = await run({ handler: 'index.handler', invocations: invs.map((t) => t.inv), nodeArgs: ASYNC_SENDS });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.init?.ok, true, JSON.stringify(r.init));
  for (const [i, t] of invs.entries()) {
    assert.deepEqual(r.results[i].ok, {
      n: 100 + i,
      a: 'upstream /a',
      computed: `computed ${100 + i}`,
      requestId: `req-${i}`,
      handlerEnv: 'index.handler', // the user's code sees its own _HANDLER
    });
    const docs = await docsOf(t.root, 4);
    assertIndexInvocation(docs, t);
    const a = docs.find((d) => urlOf(d).endsWith('/a'))!;
    assert.deepEqual(upstreamHeader(`/a?inv=${100 + i}`), { Root: t.root, Parent: a.id, Sampled: '1' });
  }
  assert.equal(daemon.documents.length, 12, 'nothing else was sent');
  assert.ok(!daemon.documents.some((d) => urlOf(d).includes('/init')), 'init-phase work is not sent');
  assert.ok(upstream.requests.some((q) => q.path === '/init-cjs' && q.traceHeader === undefined), 'init call made, untraced');
});

test('control: without the wrapper (lambdaFlushTimeoutMs=0) the last documents of the last invocation are lost', async () => {
  daemon.clear();
  const invs = sampledInvocations(2);
  const r = await run({
    handler: 'index.handler',
    invocations: invs.map((t) => t.inv),
    nodeArgs: ASYNC_SENDS,
    env: { AWS_XRAY_LAMBDA_FLUSH_TIMEOUT_MS: '0', AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR' },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.init?.handlerString, 'index.handler', 'not rewritten');
  await docsOf(invs[0].root, 4);
  await new Promise((res) => setTimeout(res, 200));
  const last = daemon.documents.filter((d) => d.trace_id === invs[1].root);
  assert.ok(last.length < 4, `expected a loss without the flush, got ${last.length} documents`);
});

test('same run without --test-udp-no-try-send: everything arrives too (sends leave synchronously)', async () => {
  daemon.clear();
  const invs = sampledInvocations(2);
  const r = await run({ handler: 'index.handler', invocations: invs.map((t) => t.inv) });
  assert.equal(r.code, 0, r.stderr);
  for (const t of invs) assertIndexInvocation(await docsOf(t.root, 4), t);
});

test('ES module handler in a sub-folder (esm/handler.handler): top-level await runs at init and is not sent', async () => {
  daemon.clear();
  upstream.requests.length = 0;
  const invs = sampledInvocations(2);
  const r = await run({ handler: 'esm/handler.handler', invocations: invs.map((t) => t.inv), nodeArgs: ASYNC_SENDS });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.init?.isAsync, true);
  assert.ok(upstream.requests.some((q) => q.path === '/init-esm'), 'init-phase top-level await ran');
  const initLine = r.stdout.split('\n')[0];
  assert.match(initLine, /"init"/, 'the init call completed before the runtime got the handler');
  for (const [i, t] of invs.entries()) {
    assert.deepEqual(r.results[i].ok, { n: i, a: 'upstream /a', computed: `computed ${i}`, via: 'esm', handlerEnv: 'esm/handler.handler' });
    const docs = await docsOf(t.root, 2);
    assert.equal(docs.length, 2);
    for (const d of docs) assert.equal(d.parent_id, t.parent);
  }
  assert.ok(!daemon.documents.some((d) => urlOf(d).includes('/init')));
});

test('ES module .js in a "type": "module" package, nested property path, callback handler', async () => {
  for (const [handler, via, ok] of [
    ['esm-pkg/app.handler', 'esm-pkg', true],
    ['nested.api.v1.handler', 'nested', true],
    ['callback.handler', 'callback', true],
  ] as const) {
    daemon.clear();
    const invs = sampledInvocations(2);
    const r = await run({ handler, invocations: invs.map((t) => t.inv), nodeArgs: ASYNC_SENDS });
    assert.equal(r.code, 0, `${handler}: ${r.stderr}`);
    assert.equal(r.init?.ok, ok);
    for (const [i, t] of invs.entries()) {
      assert.deepEqual(r.results[i].ok, { n: i, a: 'upstream /a', via }, handler);
      const docs = await docsOf(t.root, 1);
      assert.equal(docs.length, 1, handler);
      assert.equal(docs[0].parent_id, t.parent, handler);
    }
  }
});

test('the wrapped handler looks the same to the runtime: arity, async-ness, streaming marker', async () => {
  for (const handler of ['index.handler', 'index.failing', 'index.syncThrow', 'index.promiseReturning', 'callback.handler', 'nested.api.v1.handler', 'esm/handler.handler', 'streaming.handler']) {
    const invocations: Invocation[] = [{ event: { n: 1 }, traceHeader: null }];
    const env = { AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR' };
    const [withAgent, without] = await Promise.all([run({ handler, invocations, env }), run({ handler, invocations, env, agent: false })]);
    const meta = (r: LambdaRun) => ({ ...r.init, handlerString: undefined, atMs: undefined });
    const outcomes = (r: LambdaRun) => r.results.map(({ atMs: _t, cpuMs: _c, ...x }) => x);
    assert.deepEqual(meta(withAgent), meta(without), handler);
    assert.deepEqual(outcomes(withAgent), outcomes(without), `${handler}: same outcome`);
  }
});

test('errors and results pass through unchanged: rejection, sync throw, callback error, promise-returning handler', async () => {
  daemon.clear();
  const cases: Array<[string, unknown, Record<string, unknown>]> = [
    ['index.failing', { n: 7 }, { error: { name: 'TypeError', message: 'failed 7' } }],
    ['index.syncThrow', { n: 8 }, { error: { name: 'RangeError', message: 'sync 8' } }],
    ['callback.handler', { n: 9, fail: true }, { error: { name: 'Error', message: 'callback failed 9' } }],
    ['index.promiseReturning', { n: 10 }, { ok: { n: 10, a: 'upstream /a' } }],
  ];
  for (const [handler, event, expected] of cases) {
    const root = newRoot();
    const parent = newId();
    const r = await run({ handler, invocations: [{ event, traceHeader: traceHeader(root, parent) }], nodeArgs: ASYNC_SENDS });
    assert.equal(r.code, 0, r.stderr);
    const { atMs: _a, cpuMs: _c, invocation: _i, ...outcome } = r.results[0];
    assert.deepEqual(outcome, expected, handler);
    if (handler !== 'index.syncThrow') {
      const docs = await docsOf(root, 1);
      assert.equal(docs.length, 1, `${handler}: the downstream call before the error was sent`);
      assert.equal(docs[0].parent_id, parent);
    }
  }
});

test('response streaming handler: marker and highWaterMark kept, body streamed, subsegment sent', async () => {
  daemon.clear();
  const [t] = sampledInvocations(1, 5);
  const r = await run({ handler: 'streaming.handler', invocations: [t.inv], nodeArgs: ASYNC_SENDS });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.init?.streaming, true);
  assert.equal(r.init?.highWaterMark, 1024);
  assert.equal(r.results[0].ok, 'streamed 5: upstream /a');
  assert.equal(r.results[0].streamFinished, true);
  const docs = await docsOf(t.root, 1);
  assert.equal(docs[0].parent_id, t.parent);
});

test('a wrong handler string fails at init exactly as without the agent', async () => {
  for (const handler of ['index.nope', 'index.notAFunction', 'index', '../task/index.handler', 'missing.handler', 'nested.api.v2.handler']) {
    const invocations: Invocation[] = [{ event: {}, traceHeader: null }];
    const [withAgent, without] = await Promise.all([run({ handler, invocations }), run({ handler, invocations, agent: false })]);
    assert.equal(without.code, 1, handler);
    assert.equal(withAgent.code, 1, `${handler}: ${withAgent.stderr}`);
    const a = withAgent.init!.error!;
    const b = without.init!.error!;
    assert.equal(a.name, b.name, handler);
    // A missing module names the file that asked for it in its require stack: compare the first line.
    assert.equal(a.message.split('\n')[0], b.message.split('\n')[0], handler);
    assert.deepEqual(withAgent.results, [], 'no invocation ran');
  }
});

test('Sampled=0 and Root-only headers: nothing is sent; downstream calls carry the Root with Sampled=0', async () => {
  daemon.clear();
  upstream.requests.length = 0;
  const unsampledRoot = newRoot();
  const rootOnly = newRoot();
  const r = await run({
    handler: 'nested.api.v1.handler',
    invocations: [
      { event: { n: 201 }, traceHeader: traceHeader(unsampledRoot, newId(), '0') },
      { event: { n: 202 }, traceHeader: `Root=${rootOnly}` },
      { event: { n: 203 }, traceHeader: null },
    ],
    nodeArgs: ASYNC_SENDS,
    env: { AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR' },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.results.length, 3);
  for (const x of r.results) assert.equal(x.ok.via, 'nested');
  await new Promise((res) => setTimeout(res, 200));
  assert.deepEqual(daemon.documents, [], 'unsampled invocations send nothing');
  const h1 = upstreamHeader('/a?inv=201');
  assert.equal(h1.Root, unsampledRoot);
  assert.equal(h1.Sampled, '0');
  const h2 = upstreamHeader('/a?inv=202');
  assert.equal(h2.Root, rootOnly);
  assert.equal(h2.Sampled, '0', 'Root-only: the trace stays connected downstream, unsampled (DESIGN §6.21)');
  assert.equal(upstream.requests.find((q) => q.path === '/a?inv=203')?.traceHeader, undefined, 'no header, nothing invented');
});

test('Managed Instances: concurrent invocations through the invoke store each get their own parent', async () => {
  daemon.clear();
  const invs = sampledInvocations(8, 300);
  const r = await run({ handler: 'index.handler', invocations: invs.map((t) => t.inv), concurrent: true, nodeArgs: ASYNC_SENDS });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.results.filter((x) => x?.ok !== undefined).length, 8);
  for (const [i, t] of invs.entries()) {
    assert.equal(r.results[i].ok.n, 300 + i);
    assert.equal(r.results[i].ok.requestId, `req-${i}`);
    assertIndexInvocation(await docsOf(t.root, 4), t);
  }
  assert.equal(daemon.documents.length, 32);
});
