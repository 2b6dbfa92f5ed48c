// The one wrap helper (DESIGN §4.2, §7): a wrapper looks and behaves like the original (name,
// length, own properties, prototype, `this`, return value, throws), can be undone, and wrapping
// something that cannot be wrapped is refused quietly with the target left as it was.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { wrap, unwrap, originalOf } from '../../agent/shim';
import { log } from '../../agent/log';

before(() => log.setLevel('silent'));

type AnyFn = (...args: any[]) => any;

/** A pass-through wrapper that also works with `new`, and records the calls it saw. */
function passThrough(calls: unknown[][]) {
  return (original: AnyFn): AnyFn =>
    function wrapper(this: unknown, ...args: unknown[]) {
      calls.push(args);
      return new.target ? Reflect.construct(original, args, new.target) : Reflect.apply(original, this, args);
    };
}

test('the wrapper keeps name, length, own properties, `this` and the return value', () => {
  const sym = Symbol('tag');
  function connect(this: { base: number }, a: number, b: number, c?: number) {
    return { sum: this.base + a + b + (c ?? 0), self: this };
  }
  (connect as any).custom = 42;
  (connect as any)[sym] = 'symbol-prop';
  Object.defineProperty(connect, 'hidden', { value: 'h', enumerable: false, writable: false, configurable: true });
  const target = { base: 100, connect };
  const calls: unknown[][] = [];
  assert.equal(wrap(target, 'connect', passThrough(calls)), true);

  const wrapped = target.connect;
  assert.notEqual(wrapped, connect);
  assert.equal(wrapped.name, 'connect');
  assert.equal(wrapped.length, 3);
  assert.equal((wrapped as any).custom, 42);
  assert.equal((wrapped as any)[sym], 'symbol-prop');
  assert.deepEqual(Object.getOwnPropertyDescriptor(wrapped, 'hidden'), {
    value: 'h',
    enumerable: false,
    writable: false,
    configurable: true,
  });
  assert.deepEqual(Object.keys(wrapped).sort(), Object.keys(connect).sort());

  const result = target.connect(1, 2);
  assert.deepEqual(calls, [[1, 2]]);
  assert.equal(result.sum, 103);
  assert.equal(result.self, target, '`this` is the receiver');
  const other = { base: 1 };
  assert.equal(wrapped.call(other, 1, 1, 1).self, other);
  // The property keeps its attributes.
  const desc = Object.getOwnPropertyDescriptor(target, 'connect')!;
  assert.equal(desc.enumerable, true);
  assert.equal(desc.configurable, true);
  assert.equal(desc.writable, true);
});

test('a class-like function keeps its prototype: methods, instanceof, constructor, statics', () => {
  function Client(this: any, host: string) {
    this.host = host;
  }
  Client.prototype.query = function (q: string) {
    return `${this.host}:${q}`;
  };
  (Client as any).create = (h: string) => new (Client as any)(h);
  const mod = { Client };
  const calls: unknown[][] = [];
  assert.equal(wrap(mod, 'Client', passThrough(calls)), true);
  const W = mod.Client as any;
  assert.equal(W.prototype, Client.prototype);
  const c = new W('db');
  assert.equal(c.query('select'), 'db:select');
  assert.ok(c instanceof W);
  assert.ok(c instanceof Client);
  assert.equal(c.constructor, Client);
  assert.equal(W.create, (Client as any).create);
  assert.equal(W.name, 'Client');
  assert.equal(W.length, 1);
  assert.deepEqual(calls, [['db']]);

  // ES classes too (their prototype is non-writable), and the static inheritance chain.
  class Base {
    static kind() {
      return 'base';
    }
  }
  class Pool extends Base {
    constructor(public size: number) {
      super();
    }
    grow() {
      return ++this.size;
    }
  }
  const mod2 = { Pool };
  assert.equal(wrap(mod2, 'Pool', passThrough([])), true);
  const P = mod2.Pool as any;
  assert.equal(P.prototype, Pool.prototype);
  assert.equal(Object.getPrototypeOf(P), Base, 'static inheritance kept');
  assert.equal(P.kind(), 'base');
  const p = new P(2);
  assert.ok(p instanceof Pool);
  assert.equal(p.grow(), 3);
  assert.equal(P.name, 'Pool');
  assert.equal(P.length, 1);
});

test('a wrapped prototype method keeps `this`, and an inherited method is wrapped on the target only', () => {
  class Conn {
    constructor(readonly id: number) {}
    send(x: number) {
      return this.id * x;
    }
  }
  const proto = Conn.prototype;
  const calls: unknown[][] = [];
  assert.equal(wrap(proto, 'send', passThrough(calls)), true);
  assert.equal(new Conn(3).send(5), 15);
  assert.deepEqual(calls, [[5]]);
  assert.equal(Object.getOwnPropertyDescriptor(proto, 'send')!.enumerable, false, 'class methods stay non-enumerable');
  unwrap(proto, 'send');

  // Inherited: wrap defines an own property on the instance, leaving the prototype alone.
  const inst = new Conn(2);
  assert.equal(wrap(inst, 'send', passThrough(calls)), true);
  assert.equal(proto.send, originalOf(inst.send));
  assert.equal(Object.getOwnPropertyDescriptor(inst, 'send')!.enumerable, false);
  assert.equal(inst.send(4), 8);
  assert.equal(new Conn(2).send(4), 8);
  assert.equal(calls.length, 2, 'only the instance call went through the wrapper');
});

test('a synchronous throw passes through unchanged; a returned promise is the same object', async () => {
  const boom = new TypeError('boom');
  const p = Promise.resolve(7);
  const target = {
    fail() {
      throw boom;
    },
    later() {
      return p;
    },
  };
  assert.equal(wrap(target, 'fail', passThrough([])), true);
  assert.equal(wrap(target, 'later', passThrough([])), true);
  assert.throws(
    () => target.fail(),
    (err: unknown) => err === boom,
  );
  assert.equal(target.later(), p);
  assert.equal(await target.later(), 7);
});

test('originalOf and unwrap restore the original', () => {
  function original(a: number) {
    return a + 1;
  }
  const target: { fn: AnyFn } = { fn: original };
  assert.equal(originalOf(original), original, 'an unwrapped function is its own original');
  assert.equal(wrap(target, 'fn', (o) => (a: number) => o(a) * 10), true);
  assert.equal(target.fn(1), 20);
  assert.equal(originalOf(target.fn), original);
  unwrap(target, 'fn');
  assert.equal(target.fn, original);
  assert.equal(target.fn(1), 2);
  assert.deepEqual(Object.getOwnPropertyDescriptor(target, 'fn'), { value: original, writable: true, enumerable: true, configurable: true });
  // Unwrapping again, or something never wrapped, or a missing property: harmless.
  assert.doesNotThrow(() => unwrap(target, 'fn'));
  assert.doesNotThrow(() => unwrap(target, 'missing'));
  assert.equal(target.fn, original);
  // After unwrap it can be wrapped again.
  assert.equal(wrap(target, 'fn', (o) => (a: number) => o(a) * 100), true);
  assert.equal(target.fn(1), 200);
});

test('unwrappable properties are refused: false, target unchanged, no throw', () => {
  const fn = () => 1;
  const getter = () => fn;

  // Getter-only (as some ESM namespace / bundled exports are).
  const withGetter = {};
  Object.defineProperty(withGetter, 'fn', { get: getter, enumerable: true, configurable: true });
  let made = 0;
  const factory = (o: AnyFn) => {
    made++;
    return o;
  };
  assert.equal(wrap(withGetter, 'fn', factory), false);
  assert.deepEqual(Object.getOwnPropertyDescriptor(withGetter, 'fn'), { get: getter, set: undefined, enumerable: true, configurable: true });

  // Non-writable and non-configurable.
  const locked = {};
  Object.defineProperty(locked, 'fn', { value: fn, writable: false, configurable: false, enumerable: true });
  assert.equal(wrap(locked, 'fn', factory), false);
  assert.deepEqual(Object.getOwnPropertyDescriptor(locked, 'fn'), { value: fn, writable: false, configurable: false, enumerable: true });

  // Frozen object.
  const frozen = Object.freeze({ fn });
  assert.equal(wrap(frozen, 'fn', factory), false);
  assert.equal(frozen.fn, fn);

  // Missing property.
  const empty: Record<string, unknown> = {};
  assert.equal(wrap(empty, 'fn', factory), false);
  assert.deepEqual(Object.keys(empty), []);
  assert.equal('fn' in empty, false);

  // Not a function.
  const notFn = { fn: 42, obj: { a: 1 }, nul: null };
  assert.equal(wrap(notFn, 'fn', factory), false);
  assert.equal(wrap(notFn, 'obj', factory), false);
  assert.equal(wrap(notFn, 'nul', factory), false);
  assert.deepEqual(notFn, { fn: 42, obj: { a: 1 }, nul: null });

  assert.equal(made, 0, 'the wrapper factory was never called');
});

test('a wrapper factory that throws is contained: false and the target unchanged', () => {
  function fn() {
    return 1;
  }
  const target = { fn };
  assert.doesNotThrow(() => {
    assert.equal(
      wrap(target, 'fn', () => {
        throw new Error('factory failed');
      }),
      false,
    );
  });
  assert.equal(target.fn, fn);
});

test('double wrapping is refused', () => {
  function fn(x: number) {
    return x;
  }
  const target: { fn: AnyFn } = { fn };
  let made = 0;
  const factory = (o: AnyFn) => {
    made++;
    return (x: number) => o(x) + 1;
  };
  assert.equal(wrap(target, 'fn', factory), true);
  const first = target.fn;
  assert.equal(wrap(target, 'fn', factory), false);
  assert.equal(target.fn, first);
  assert.equal(made, 1);
  assert.equal(target.fn(1), 2, 'wrapped once, not twice');
  // The same wrapped function assigned elsewhere is recognised as wrapped too.
  const other = { fn: first };
  assert.equal(wrap(other, 'fn', factory), false);
  assert.equal(other.fn, first);
});
