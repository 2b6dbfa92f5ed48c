// The one place that knows how the active trace entity travels with async work.
// AsyncLocalStorage only: no cls-hooked, no patched promises. Each incoming request runs its
// handler inside `run(segment, …)`, so concurrent requests can never see each other's entities.

import { AsyncLocalStorage } from 'node:async_hooks';
import type { Entity } from './model/entity';

// One store per process, shared by every copy of the agent's code that may be loaded (the bundled
// dist/agent.js, the compiled modules under dist/ that tests and the Lambda wrapper load, a second
// installed copy of the package): an entity made current by one copy must be current for all.
const STORE_KEY = Symbol.for('@xray/agent.context');
const storage: AsyncLocalStorage<Entity> = ((globalThis as Record<symbol, unknown>)[STORE_KEY] ??=
  new AsyncLocalStorage<Entity>()) as AsyncLocalStorage<Entity>;

/** The segment or subsegment that is current for this async flow, if any. */
export function active(): Entity | undefined {
  return storage.getStore();
}

/** Runs `fn` with `entity` as the current entity; returns exactly what `fn` returns. */
export function run<R>(entity: Entity | undefined, fn: () => R): R {
  return storage.run(entity as Entity, fn);
}

/** Runs `fn.apply(thisArg, args)` with `entity` current, without allocating a closure. */
export function runApply<R>(entity: Entity | undefined, fn: (...a: any[]) => R, thisArg: unknown, args: ArrayLike<unknown>): R {
  return storage.run(entity as Entity, applyFn, fn, thisArg, args) as R;
}

function applyFn(fn: (...a: any[]) => unknown, thisArg: unknown, args: ArrayLike<unknown>): unknown {
  return Reflect.apply(fn, thisArg, args);
}

/** Returns a function that always runs `fn` with `entity` (default: the current one) current. */
export function bind<F extends (...args: any[]) => any>(fn: F, entity: Entity | undefined = active()): F {
  if (typeof fn !== 'function') return fn;
  const bound = function (this: unknown, ...args: unknown[]) {
    return storage.run(entity as Entity, () => Reflect.apply(fn, this, args));
  };
  return bound as unknown as F;
}

/** Makes `entity` current for the rest of this synchronous execution and what it schedules. */
export function enter(entity: Entity | undefined): void {
  storage.enterWith(entity as Entity);
}

/** What diagnostics_channel's `Channel#bindStore` needs (typed loosely: Node's types differ by version). */
interface StoreChannel {
  bindStore(store: AsyncLocalStorage<Entity>, transform?: (message: any) => Entity): void;
}

/**
 * Binds the entity store to a diagnostics channel: when the publisher runs code through
 * `channel.runStores(message, fn)` (a TracingChannel's callback continuation, for instance), `fn`
 * runs with `entityOf(message)` current. A message the transform does not know keeps the current
 * entity. This is how a library's own tracing channels restore the caller's context.
 */
export function bindChannelStore(channel: StoreChannel, entityOf: (message: unknown) => Entity | undefined | null): void {
  channel.bindStore(storage, (message: unknown) => {
    try {
      const e = entityOf(message);
      return (e === null ? storage.getStore() : e) as Entity;
    } catch {
      return storage.getStore() as Entity;
    }
  });
}
