// The X-Ray `cause` object (spec §1.11): real V8 stacks, synthetic frame formats, Error.cause
// chains, truncation, non-Error throws and de-duplication through exception ids.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildCause, causeReference, exceptionIdFor, type XrayException } from '../../agent/model/cause';
import { isEntityId } from '../../agent/model/ids';

const here = __filename; // dist/test/unit/cause.test.js

function level3(): never {
  throw new TypeError('deep failure');
}
function level2(): never {
  level3();
}
function level1(): never {
  level2();
}
function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

/** An error with a hand-written V8-style stack. */
function withStack(message: string, frames: string[], name = 'Error'): Error {
  const e = new Error(message);
  e.name = name;
  e.stack = `${name}: ${message}\n` + frames.map((f) => `    at ${f}`).join('\n');
  return e;
}

function only(c: { exceptions: XrayException[] }): XrayException {
  assert.equal(c.exceptions.length, 1);
  return c.exceptions[0];
}

test('a real error thrown from nested functions', () => {
  const err = caught(level1);
  const c = buildCause(err, { maxFrames: 10, cwd: '/nowhere' });
  assert.equal(c.working_directory, '/nowhere');
  const ex = only(c);
  assert.ok(isEntityId(ex.id));
  assert.equal(ex.type, 'TypeError');
  assert.equal(ex.message, 'deep failure');
  assert.equal(ex.remote, undefined);
  assert.ok(ex.stack && ex.stack.length >= 4);
  assert.deepEqual(ex.stack.slice(0, 3).map((f) => f.label), ['level3', 'level2', 'level1']);
  for (const f of ex.stack.slice(0, 4)) {
    assert.equal(f.path, here); // outside /nowhere: absolute
    assert.ok(Number.isInteger(f.line) && f.line! > 0);
  }
  // JSON round trip: only plain data
  assert.deepEqual(JSON.parse(JSON.stringify(c)), c);
});

test('frame paths are relative to the working directory when inside it', () => {
  const err = caught(level1);
  const dir = join(here, '..');
  const ex = only(buildCause(err, { maxFrames: 3, cwd: dir }));
  assert.equal(ex.stack![0].path, 'cause.test.js');
  // a trailing separator on the cwd works too
  assert.equal(only(buildCause(err, { maxFrames: 1, cwd: dir + '/' })).stack![0].path, 'cause.test.js');
  // default cwd: process.cwd()
  assert.equal(buildCause(err, { maxFrames: 1 }).working_directory, process.cwd());
  // a sibling directory sharing a prefix is not "inside"
  const sib = only(buildCause(withStack('m', ['f (/app-old/x.js:1:1)']), { maxFrames: 5, cwd: '/app' }));
  assert.equal(sib.stack![0].path, '/app-old/x.js');
});

test('maxFrames keeps the top frames and counts the rest in truncated', () => {
  const frames = Array.from({ length: 8 }, (_, i) => `f${i} (/app/src/f${i}.js:${i + 1}:2)`);
  const e = withStack('boom', frames);
  const ex = only(buildCause(e, { maxFrames: 3, cwd: '/app' }));
  assert.deepEqual(ex.stack, [
    { path: 'src/f0.js', line: 1, label: 'f0' },
    { path: 'src/f1.js', line: 2, label: 'f1' },
    { path: 'src/f2.js', line: 3, label: 'f2' },
  ]);
  assert.equal(ex.truncated, 5);
  const all = only(buildCause(e, { maxFrames: 10, cwd: '/app' }));
  assert.equal(all.stack!.length, 8);
  assert.equal('truncated' in all, false); // omitted when nothing was dropped
  const none = only(buildCause(e, { maxFrames: 0, cwd: '/app' }));
  assert.equal(none.stack, undefined);
  assert.equal(none.truncated, 8);
  // a nonsense limit means the default of 10
  assert.equal(only(buildCause(withStack('m', Array(12).fill('g (/a.js:1:1)')), { maxFrames: NaN })).truncated, 2);
});

test('V8 frame formats', () => {
  const e = withStack('x', [
    'plain (/app/a.js:10:5)',
    '/app/b.js:20:7',
    'async handler (/app/c.js:30:1)',
    'new Widget (/app/d.js:40:3)',
    'Object.<anonymous> (/app/e.js:1:1)',
    'file:///app/esm/mod.mjs:5:9',
    'exported (file:///srv/other%20dir/lib.mjs:6:1)',
    'Module._compile (node:internal/modules/cjs/loader:1256:14)',
    'node:internal/process/task_queues:95:5',
    'new Promise (<anonymous>)',
    'async Promise.all (index 0)',
    '<anonymous>',
    'eval (eval at run (/app/f.js:7:3), <anonymous>:1:1)',
    'eval (eval at outer (eval at run (/app/g.js:8:2), <anonymous>:2:3), <anonymous>:1:1)',
    'Foo.bar [as baz] (/app/h.js:9:9)',
    'C:\\app\\win.js:3:4',
    'native',
  ]);
  const ex = only(buildCause(e, { maxFrames: 50, cwd: '/app' }));
  assert.deepEqual(ex.stack, [
    { path: 'a.js', line: 10, label: 'plain' },
    { path: 'b.js', line: 20, label: 'anonymous' },
    { path: 'c.js', line: 30, label: 'handler' },
    { path: 'd.js', line: 40, label: 'new Widget' },
    { path: 'e.js', line: 1, label: 'Object.<anonymous>' },
    { path: 'esm/mod.mjs', line: 5, label: 'anonymous' },
    { path: '/srv/other dir/lib.mjs', line: 6, label: 'exported' },
    { path: 'node:internal/modules/cjs/loader', line: 1256, label: 'Module._compile' },
    { path: 'node:internal/process/task_queues', line: 95, label: 'anonymous' },
    { path: '<anonymous>', label: 'new Promise' },
    { path: 'index 0', label: 'Promise.all' },
    { path: '<anonymous>', label: 'anonymous' },
    { path: 'f.js', line: 7, label: 'eval' },
    { path: 'g.js', line: 8, label: 'eval' },
    { path: 'h.js', line: 9, label: 'Foo.bar [as baz]' },
    { path: 'C:\\app\\win.js', line: 3, label: 'anonymous' },
    { path: 'native', label: 'anonymous' },
  ]);
});

test('a multi-line message with "at" lines is not read as frames; CRLF stacks work', () => {
  const msg = 'line one\n    at fake (/fake.js:1:1)\nline three';
  const e = new Error(msg);
  e.stack = `Error: ${msg}\r\n    at real (/app/r.js:2:3)\r\n`;
  const ex = only(buildCause(e, { maxFrames: 10, cwd: '/app' }));
  assert.deepEqual(ex.stack, [{ path: 'r.js', line: 2, label: 'real' }]);
  assert.equal(ex.message, msg);
});

test('real ESM errors: file:// frames become paths', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xray-cause-'));
  try {
    const file = join(dir, 'thrower.mjs');
    writeFileSync(file, 'export function esmThrower() {\n  throw new RangeError("from esm");\n}\n');
    const mod = (await import(pathToFileURL(file).href)) as { esmThrower: () => never };
    const err = caught(() => mod.esmThrower());
    assert.match(String((err as Error).stack), /file:\/\//);
    const outside = only(buildCause(err, { maxFrames: 5, cwd: '/nowhere' }));
    assert.equal(outside.type, 'RangeError');
    // V8 labels top-level ESM functions `Module.<name>`
    assert.deepEqual(outside.stack![0], { path: file, line: 2, label: 'Module.esmThrower' });
    const inside = only(buildCause(err, { maxFrames: 5, cwd: dir }));
    assert.deepEqual(inside.stack![0], { path: 'thrower.mjs', line: 2, label: 'Module.esmThrower' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('real async frames', async () => {
  async function inner(): Promise<never> {
    await new Promise((r) => setImmediate(r));
    throw new Error('async boom');
  }
  async function outer(): Promise<void> {
    await inner();
  }
  const err = await outer().then(
    () => undefined,
    (e: unknown) => e,
  );
  const ex = only(buildCause(err, { maxFrames: 10, cwd: '/nowhere' }));
  const labels = ex.stack!.map((f) => f.label);
  assert.equal(labels[0], 'inner');
  assert.ok(labels.includes('outer'), labels.join(','));
});

test('Error.cause chains become linked entries', () => {
  const root = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  const mid = new Error('query failed', { cause: root });
  const top = new TypeError('request failed', { cause: mid });
  const c = buildCause(top, { maxFrames: 2, cwd: '/nowhere', remote: true });
  assert.equal(c.exceptions.length, 3);
  const [a, b, r] = c.exceptions;
  assert.deepEqual([a.type, b.type, r.type], ['TypeError', 'Error', 'ECONNREFUSED']);
  assert.equal(a.cause, b.id);
  assert.equal(b.cause, r.id);
  assert.equal(r.cause, undefined);
  assert.equal(a.remote, true);
  assert.equal(b.remote, undefined); // only the recorded error came from downstream
  assert.equal(new Set([a.id, b.id, r.id]).size, 3);
  for (const ex of c.exceptions) assert.ok(ex.stack && ex.stack.length <= 2);
});

test('cause chains: cycles stop, length is capped, non-error causes are described', () => {
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  (a as { cause?: unknown }).cause = b;
  assert.deepEqual(buildCause(a, { maxFrames: 1 }).exceptions.map((e) => e.message), ['a', 'b']);

  const self = new Error('self');
  (self as { cause?: unknown }).cause = self;
  assert.equal(buildCause(self, { maxFrames: 1 }).exceptions.length, 1);

  let e: Error = new Error('e0');
  for (let i = 1; i <= 20; i++) e = new Error(`e${i}`, { cause: e });
  const long = buildCause(e, { maxFrames: 1 });
  assert.equal(long.exceptions.length, 6); // the error + 5 causes
  assert.equal(long.exceptions[5].cause, undefined);

  const withString = buildCause(new Error('outer', { cause: 'a string reason' }), { maxFrames: 1 });
  assert.deepEqual(withString.exceptions.map((x) => [x.message, x.type]), [['outer', 'Error'], ['a string reason', '']]);
  assert.equal(withString.exceptions[0].cause, withString.exceptions[1].id);
  assert.equal(buildCause(new Error('n', { cause: null }), { maxFrames: 1 }).exceptions.length, 1);
  assert.equal(buildCause(new Error('u', { cause: undefined }), { maxFrames: 1 }).exceptions.length, 1);
});

test('string errors and non-Error throws', () => {
  const s = only(buildCause('plain string failure', { maxFrames: 10 }));
  assert.deepEqual(Object.keys(s).sort(), ['id', 'message', 'type']);
  assert.equal(s.message, 'plain string failure');
  assert.equal(s.type, '');

  const nul = only(buildCause(caught(() => { throw null; }), { maxFrames: 10 }));
  assert.equal(nul.message, 'null');
  assert.equal(nul.type, '');
  assert.equal(only(buildCause(undefined, { maxFrames: 10 })).message, 'undefined');
  assert.equal(only(buildCause(42, { maxFrames: 10 })).message, '42');
  assert.equal(only(buildCause(10n, { maxFrames: 10 })).message, '10');
  assert.equal(only(buildCause(Symbol('sym'), { maxFrames: 10 })).message, 'Symbol(sym)');

  const obj = only(buildCause(caught(() => { throw {}; }), { maxFrames: 10 }));
  assert.equal(obj.message, '[object Object]');
  assert.equal(obj.type, 'Object');
  assert.equal(obj.stack, undefined);

  const like = only(buildCause({ name: 'HttpError', message: 'Not Found', status: 404 }, { maxFrames: 10 }));
  assert.deepEqual([like.type, like.message], ['HttpError', 'Not Found']);

  const bare = only(buildCause(Object.create(null), { maxFrames: 10 }));
  assert.equal(bare.message, '[object Object]');
  assert.equal(bare.type, '');

  const evil = only(
    buildCause({ toString() { throw new Error('nope'); } }, { maxFrames: 10 }),
  );
  assert.equal(evil.message, '[object Object]');
});

test('type: name, subclass constructor name, system error code', () => {
  class MyError extends Error {}
  class NamedError extends Error {
    override name = 'Named';
  }
  const t = (e: unknown) => only(buildCause(e, { maxFrames: 0 })).type;
  assert.equal(t(new MyError('x')), 'MyError');
  assert.equal(t(new NamedError('x')), 'Named');
  assert.equal(t(Object.assign(new Error('x'), { code: 'ECONNRESET' })), 'ECONNRESET');
  assert.equal(t(Object.assign(new TypeError('x'), { code: 'ERR_INVALID_ARG_TYPE' })), 'TypeError');
  assert.equal(t(Object.assign(new Error('x'), { code: 42 })), 'Error');
  assert.equal(t(new Error('x')), 'Error');
});

test('a real system error', async () => {
  const net = await import('node:net');
  const err = await new Promise<unknown>((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port: 1 });
    sock.on('error', resolve);
    sock.on('connect', () => {
      sock.destroy();
      resolve(new Error('unexpected connect'));
    });
  });
  const ex = only(buildCause(err, { maxFrames: 10 }));
  assert.equal(ex.type, 'ECONNREFUSED');
  assert.match(ex.message!, /ECONNREFUSED/);
});

test('messages are cut to 1,000 characters without splitting a surrogate pair', () => {
  assert.equal(only(buildCause(new Error('m'.repeat(5000)), { maxFrames: 1 })).message!.length, 1000);
  assert.equal(only(buildCause('s'.repeat(5000), { maxFrames: 1 })).message!.length, 1000);
  const emoji = only(buildCause('a' + '\u{1F600}'.repeat(600), { maxFrames: 1 })).message!;
  assert.equal(emoji.length, 999);
  assert.equal(Buffer.from(emoji).toString(), emoji);
});

test('hostile error objects never make buildCause throw', () => {
  const trapAll: ProxyHandler<object> = {};
  for (const trap of ['get', 'has', 'ownKeys', 'getPrototypeOf', 'getOwnPropertyDescriptor'] as const) {
    (trapAll as Record<string, unknown>)[trap] = () => { throw new Error(trap); };
  }
  const proxy = new Proxy({}, trapAll);
  const c = buildCause(proxy, { maxFrames: 10 });
  assert.equal(c.exceptions.length, 1);
  assert.ok(isEntityId(c.exceptions[0].id));
  assert.equal(typeof c.exceptions[0].message, 'string');

  const e = new Error('getters');
  // 'stack' first: redefining it makes V8 format the stack, which reads `name`
  for (const k of ['stack', 'name', 'message', 'cause', 'code', 'constructor']) {
    Object.defineProperty(e, k, { get() { throw new Error(k); } });
  }
  assert.doesNotThrow(() => buildCause(e, { maxFrames: 10 }));
  const { proxy: revoked, revoke } = Proxy.revocable({}, {});
  revoke();
  assert.doesNotThrow(() => buildCause(revoked, { maxFrames: 10 }));
  assert.doesNotThrow(() => buildCause(new Error('x'), undefined as unknown as { maxFrames: number }));
});

test('an error recorded once is referenced by id afterwards', () => {
  const err = caught(level1) as Error;
  assert.equal(causeReference(err), undefined);
  assert.equal(exceptionIdFor(err), undefined);
  const child = buildCause(err, { maxFrames: 5 });
  const id = child.exceptions[0].id;
  assert.equal(causeReference(err), id);
  assert.equal(exceptionIdFor(err), id);
  // building again (a caller that did not ask first) keeps the first id as the reference
  buildCause(err, { maxFrames: 5 });
  assert.equal(causeReference(err), id);
  // primitives are never references
  assert.equal(causeReference('str'), undefined);
  assert.equal(causeReference(null), undefined);
  assert.equal(exceptionIdFor(5 as unknown as object), undefined);
});

test('a wrapper whose cause was already recorded links to that exception instead of repeating it', () => {
  const inner = new Error('db down');
  const innerCause = buildCause(inner, { maxFrames: 5 }); // recorded on the DB subsegment
  const wrapper = new Error('handler failed', { cause: inner });
  const outer = buildCause(wrapper, { maxFrames: 5 }); // recorded on the segment
  assert.equal(outer.exceptions.length, 1);
  assert.equal(outer.exceptions[0].cause, innerCause.exceptions[0].id);
  // every cause in a chain is remembered
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  const built = buildCause(b, { maxFrames: 1 });
  assert.equal(causeReference(a), built.exceptions[1].id);
});

test('remembered ids are scoped: an error object thrown again in another trace is written again', () => {
  const reused = new Error('pre-built library error');
  const traceA = {};
  const traceB = {};
  const a = buildCause(reused, { maxFrames: 1, scope: traceA });
  assert.equal(causeReference(reused, traceA), a.exceptions[0].id);
  assert.equal(causeReference(reused, traceB), undefined);
  assert.equal(causeReference(reused), undefined); // the unscoped caller is another scope too
  const b = buildCause(reused, { maxFrames: 1, scope: traceB });
  assert.notEqual(b.exceptions[0].id, a.exceptions[0].id);
  assert.equal(causeReference(reused, traceB), b.exceptions[0].id);
  assert.equal(exceptionIdFor(reused), b.exceptions[0].id);
  // a wrapper in trace A does not link to trace B's exception
  const wrapper = new Error('wrap', { cause: reused });
  const w = buildCause(wrapper, { maxFrames: 1, scope: traceA });
  assert.equal(w.exceptions.length, 2);
  assert.equal(w.exceptions[0].cause, w.exceptions[1].id);
});
