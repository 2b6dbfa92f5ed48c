// The Lambda handler wrapper (agent/lambda/wrap-handler), the preload rewrite of _HANDLER
// (agent/lambda/handler-rewrite) and the runtime-faithful handler resolution
// (agent/lambda/user-handler), in-process.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterFlush, wrapHandler, HANDLER_STREAMING, type FlushControl } from '../../agent/lambda/wrap-handler';
import { rewriteHandler, wrapperHandlerString, wrapperModulePath, ORIGINAL_HANDLER_ENV, isWellFormedHandler } from '../../agent/lambda/handler-rewrite';
import { parseHandlerString, resolveUserHandler, runtimeFlavour, loadHandler } from '../../agent/lambda/user-handler';

/** What lambda/handler.mjs passes: a real import(). */
const importModule = (file: string): Promise<unknown> => import(file);
import { TASK_ROOT } from '../helpers/lambda-harness';
import { startUpstream, type Upstream } from '../helpers/upstream';

// The fixture handlers call an upstream at load (init-phase work).
let upstream: Upstream;
before(async () => {
  upstream = await startUpstream();
  process.env.UPSTREAM_URL = upstream.url;
});
after(() => upstream.close());

/** A flush that resolves when the test says so; counts calls. */
function controlledFlush(timeoutMs = 1000): FlushControl & { release(): void; calls: number; busy: boolean } {
  let release: () => void = () => {};
  const ctl = {
    calls: 0,
    busy: true,
    timeoutMs,
    idle: () => !ctl.busy,
    flush: () => {
      ctl.calls++;
      return new Promise<void>((r) => (release = r));
    },
    release: () => release(),
  };
  return ctl;
}

const tick = () => new Promise((r) => setImmediate(r));

// ---- wrapHandler -------------------------------------------------------------------------------

test('wrapper keeps name, length, own properties (symbols too), async-ness and prototype', () => {
  const ctl = controlledFlush();
  async function handler(_e: unknown, _c: unknown) {
    return 1;
  }
  const marker = Symbol('marker');
  Object.assign(handler, { custom: 'x', [marker]: 1, [HANDLER_STREAMING]: 'response' });
  const w = wrapHandler(handler, ctl) as unknown as Record<PropertyKey, unknown> & ((...a: unknown[]) => unknown);
  assert.equal(w.name, 'handler');
  assert.equal(w.length, 2);
  assert.equal(w.custom, 'x');
  assert.equal(w[marker], 1);
  assert.equal(w[HANDLER_STREAMING], 'response');
  assert.equal(w.constructor.name, 'AsyncFunction');

  function cb(_e: unknown, _c: unknown, _callback: unknown) {}
  const wc = wrapHandler(cb, ctl);
  assert.equal(wc.length, 3, 'callback handlers stay callback handlers (Node 24 refuses them by arity)');
  assert.equal(wc.constructor.name, 'Function');
  assert.equal(wc.name, 'cb');
});

test('async result: released only after the flush, same value; rejection: same error object', async () => {
  const ctl = controlledFlush();
  const value = { answer: 42 };
  const w = wrapHandler(async () => value, ctl);
  let settled: unknown;
  const p = (w({}, {}) as Promise<unknown>).then((v) => (settled = v));
  await tick();
  assert.equal(settled, undefined, 'held while sends are pending');
  assert.equal(ctl.calls, 1);
  ctl.release();
  await p;
  assert.equal(settled, value);

  const err = new TypeError('nope');
  const ctl2 = controlledFlush();
  const w2 = wrapHandler(async () => {
    throw err;
  }, ctl2);
  const p2 = w2({}, {}) as Promise<unknown>;
  await tick();
  ctl2.release();
  await assert.rejects(p2, (e) => e === err);
});

test('nothing pending: no flush call, no timer, result straight through', async () => {
  const ctl = controlledFlush();
  ctl.busy = false;
  const w = wrapHandler(async (e: unknown) => e, ctl);
  assert.equal(await w('ev', {}), 'ev');
  assert.equal(ctl.calls, 0);
  let called = 0;
  const wc = wrapHandler((_e: unknown, _c: unknown, callback: (err: null, v: string) => void) => callback(null, 'sync'), ctl);
  wc({}, {}, (_err: unknown, v: unknown) => {
    called++;
    assert.equal(v, 'sync');
  });
  assert.equal(called, 1, 'idle: the callback runs synchronously, as without the agent');
});

test('the wait is bounded: a flush that never ends releases the result after timeoutMs', async () => {
  const ctl = controlledFlush(30);
  const w = wrapHandler(async () => 'late', ctl);
  const t0 = performance.now();
  assert.equal(await w({}, {}), 'late');
  const ms = performance.now() - t0;
  assert.ok(ms >= 25 && ms < 1000, `released after ${ms} ms`);
});

test('callback: called after the flush with the same arguments', async () => {
  const ctl = controlledFlush();
  const seen: unknown[][] = [];
  const original = function (this: unknown, _e: unknown, _c: unknown, callback: (...a: unknown[]) => void) {
    callback(null, 'ok', 'extra');
    return undefined;
  };
  const w = wrapHandler(original, ctl);
  const cb = (...args: unknown[]) => seen.push(args);
  assert.equal(w({}, {}, cb), undefined, 'a non-promise return value goes back as is');
  assert.deepEqual(seen, []);
  ctl.release();
  await tick();
  assert.deepEqual(seen, [[null, 'ok', 'extra']]);
});

test('sync throw stays a sync throw; non-thenable results are untouched; this is passed through', () => {
  const ctl = controlledFlush();
  const err = new RangeError('sync');
  const w = wrapHandler(() => {
    throw err;
  }, ctl);
  assert.throws(() => w({}, {}), (e) => e === err);
  const self = { runtime: true };
  const w2 = wrapHandler(function (this: unknown) {
    return this;
  }, ctl);
  assert.equal(w2.call(self, {}, {}), self);
});

test('streaming handler: the third argument (context) is not taken for a callback', async () => {
  const ctl = controlledFlush();
  ctl.busy = false;
  let third: unknown;
  const h = async (_e: unknown, _stream: unknown, context: unknown) => {
    third = context;
  };
  (h as unknown as Record<symbol, unknown>)[HANDLER_STREAMING] = 'response';
  const ctx = Object.assign(() => {}, { awsRequestId: 'r' });
  await wrapHandler(h, ctl)({}, {}, ctx);
  assert.equal(third, ctx);
});

test('afterFlush: a throwing idle() or flush() still runs the continuation', () => {
  let ran = 0;
  afterFlush({ idle: () => { throw new Error('x'); }, flush: () => Promise.resolve(), timeoutMs: 10 }, () => ran++);
  afterFlush({ idle: () => false, flush: () => { throw new Error('y'); }, timeoutMs: 10 }, () => ran++);
  assert.equal(ran, 2);
});

// ---- rewriteHandler ----------------------------------------------------------------------------

const LAMBDA_ENV = { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x', LAMBDA_TASK_ROOT: '/var/task' };

test('rewrite: _HANDLER points at the wrapper (absolute moduleRoot), the original is kept aside', () => {
  const env: NodeJS.ProcessEnv = { ...LAMBDA_ENV, _HANDLER: 'src/app.api.handler' };
  const r = rewriteHandler(env);
  assert.equal(r.rewritten, true);
  assert.equal(env._HANDLER, wrapperHandlerString());
  assert.equal(env[ORIGINAL_HANDLER_ENV], 'src/app.api.handler');
  assert.ok(path.isAbsolute(env._HANDLER!));
  assert.ok(env._HANDLER!.endsWith(path.join('lambda', 'handler.handler')));
  assert.ok(fs.existsSync(wrapperModulePath()));
  // The runtime's own split of the new string gives back the wrapper module and `handler`.
  const p = parseHandlerString(env._HANDLER!);
  assert.equal(path.resolve('/var/task', p.moduleRoot, p.module) + '.mjs', wrapperModulePath());
  assert.equal(p.handlerPath, 'handler');
  // Twice (a second copy of the agent, a child process): no double wrapping.
  assert.deepEqual(rewriteHandler(env), { rewritten: false, reason: '_HANDLER already points at the wrapper' });
});

test('rewrite: left alone outside the managed Node.js runtime, without _HANDLER, for strings the runtime refuses, or a missing wrapper', () => {
  const cases: Array<NodeJS.ProcessEnv> = [
    { _HANDLER: 'index.handler', LAMBDA_TASK_ROOT: '/var/task' },
    { ...LAMBDA_ENV, AWS_EXECUTION_ENV: 'AWS_Lambda_python3.12', _HANDLER: 'index.handler' },
    { ...LAMBDA_ENV },
    { ...LAMBDA_ENV, _HANDLER: 'index' },
    { ...LAMBDA_ENV, _HANDLER: '../up/index.handler' },
  ];
  for (const env of cases) {
    const before = { ...env };
    assert.equal(rewriteHandler(env).rewritten, false, JSON.stringify(env));
    assert.deepEqual(env, before);
  }
  const env = { ...LAMBDA_ENV, _HANDLER: 'index.handler' };
  assert.equal(rewriteHandler(env, '/nonexistent/lambda/handler.mjs').rewritten, false);
  assert.equal(env._HANDLER, 'index.handler');
  assert.equal(isWellFormedHandler('a/b.c.d'), true);
  assert.equal(isWellFormedHandler('a.b/c'), false);
});

// ---- resolution ----------------------------------------------------------------------------------

test('parseHandlerString splits like the runtime', () => {
  assert.deepEqual(parseHandlerString('index.handler'), { moduleRoot: '', module: 'index', handlerPath: 'handler' });
  assert.deepEqual(parseHandlerString('src/app.api.v1.handler'), { moduleRoot: 'src/', module: 'app', handlerPath: 'api.v1.handler' });
  assert.deepEqual(parseHandlerString('/opt/x.y/lambda/handler.handler'), { moduleRoot: '/opt/x.y/lambda/', module: 'handler', handlerPath: 'handler' });
  assert.throws(() => parseHandlerString('index'), { name: 'Runtime.MalformedHandlerName', message: 'Bad handler' });
  assert.throws(() => parseHandlerString('../a.b'), { name: 'Runtime.MalformedHandlerName' });
});

test('runtimeFlavour: nodejs24.x and Managed Instances use the new runtime client', () => {
  assert.equal(runtimeFlavour({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x' }), 'classic');
  assert.equal(runtimeFlavour({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x' }), 'classic');
  assert.equal(runtimeFlavour({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x', AWS_LAMBDA_MAX_CONCURRENCY: '8' }), 'v4');
  assert.equal(runtimeFlavour({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' }), 'v4');
  assert.equal(runtimeFlavour({}, 20), 'classic');
  assert.equal(runtimeFlavour({}, 24), 'v4');
});

test('resolveUserHandler: both flavours find CJS, nested, ESM and module-package handlers; errors as the runtime', async () => {
  for (const flavour of ['classic', 'v4'] as const) {
    for (const h of ['index.handler', 'nested.api.v1.handler', 'esm/handler.handler', 'esm-pkg/app.handler', 'callback.handler']) {
      const fn = await resolveUserHandler(TASK_ROOT, h, flavour, importModule);
      assert.equal(typeof fn, 'function', `${flavour} ${h}`);
    }
    await assert.rejects(resolveUserHandler(TASK_ROOT, 'index.nope', flavour, importModule), {
      name: 'Runtime.HandlerNotFound',
      message: 'index.nope is undefined or not exported',
    });
    await assert.rejects(resolveUserHandler(TASK_ROOT, 'index.notAFunction', flavour, importModule), {
      name: 'Runtime.HandlerNotFound',
      message: 'index.notAFunction is not a function',
    });
    await assert.rejects(resolveUserHandler(TASK_ROOT, 'missing.handler', flavour, importModule), { code: 'MODULE_NOT_FOUND' });
  }
  // classic follows the path through functions too (a && a[key]); v4 only through objects.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-lambda-'));
  try {
    fs.writeFileSync(path.join(dir, 'fnprop.js'), 'function f() {}; f.handler = async () => 1; exports.f = f;');
    assert.equal(typeof (await resolveUserHandler(dir, 'fnprop.f.handler', 'classic', importModule)), 'function');
    await assert.rejects(resolveUserHandler(dir, 'fnprop.f.handler', 'v4', importModule), { name: 'Runtime.HandlerNotFound' });
    // v4 looks under `default` (an ES module exporting an object as default).
    fs.writeFileSync(path.join(dir, 'dflt.mjs'), 'export default { handler: async () => 2 };');
    assert.equal(typeof (await resolveUserHandler(dir, 'dflt.handler', 'v4', importModule)), 'function');
    await assert.rejects(resolveUserHandler(dir, 'dflt.handler', 'classic', importModule), { name: 'Runtime.HandlerNotFound' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('loadHandler: restores _HANDLER, drops the private variable, returns the handler (unwrapped with no agent)', async () => {
  const env: NodeJS.ProcessEnv = { ...LAMBDA_ENV, LAMBDA_TASK_ROOT: TASK_ROOT, _HANDLER: wrapperHandlerString(), [ORIGINAL_HANDLER_ENV]: 'nested.api.v1.handler' };
  const fn = await loadHandler(env, importModule);
  assert.equal(typeof fn, 'function');
  assert.equal(env._HANDLER, 'nested.api.v1.handler');
  assert.equal(env[ORIGINAL_HANDLER_ENV], undefined);
  await assert.rejects(loadHandler({ ...LAMBDA_ENV }, importModule), { name: 'Runtime.HandlerNotFound' });
});
