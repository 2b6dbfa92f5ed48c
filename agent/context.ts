// The one place that knows how the active trace entity travels with async work.
// Async resources only (AsyncLocalStorage's model, ./context-store): no cls-hooked, no patched
// promises. Each incoming request runs its handler inside `run(segment, …)`, so concurrent
// requests can never see each other's entities.

import type { Entity } from './model/entity';
import { createEntityStore, type EntityStore } from './context-store';

// One store per process, shared by every copy of the agent's code that may be loaded (the bundled
// dist/agent.js, the compiled modules under dist/ that tests and the Lambda wrapper load, a second
// installed copy of the package): an entity made current by one copy must be current for all.
// (The key names the store's interface version: a copy expecting another shape makes its own.)
const STORE_KEY = Symbol.for('@xray/agent.context.v2');
const storage: EntityStore<Entity> = ((globalThis as Record<symbol, unknown>)[STORE_KEY] ??=
  createEntityStore<Entity>()) as EntityStore<Entity>;

/** Which context implementation this process uses (see ./context-store; asking makes the choice). */
export function contextKind(): EntityStore<Entity>['kind'] {
  return storage.kind;
}

/** The segment or subsegment that is current for this async flow, if any. */
export function active(): Entity | undefined {
  return storage.getStore();
}

/** Runs `fn` with `entity` as the current entity; returns exactly what `fn` returns. */
export function run<R>(entity: Entity | undefined, fn: () => R): R {
  return storage.runApply(entity, fn, undefined, NO_ARGS);
}

const NO_ARGS: readonly unknown[] = [];

/** Runs `fn.apply(thisArg, args)` with `entity` current, without allocating a closure. */
export function runApply<R>(entity: Entity | undefined, fn: (...a: any[]) => R, thisArg: unknown, args: ArrayLike<unknown>): R {
  return storage.runApply(entity, fn, thisArg, args);
}

/** Returns a function that always runs `fn` with `entity` (default: the current one) current. */
export function bind<F extends (...args: any[]) => any>(fn: F, entity: Entity | undefined = active()): F {
  if (typeof fn !== 'function') return fn;
  const bound = function (this: unknown, ...args: unknown[]) {
    return storage.runApply(entity, fn, this, args);
  };
  return bound as unknown as F;
}

/** Makes `entity` current for the rest of this synchronous execution and what it schedules. */
export function enter(entity: Entity | undefined): void {
  storage.enterWith(entity);
}

/** What diagnostics_channel's `Channel#bindStore` needs (typed loosely: Node's types differ by version). */
interface StoreChannel {
  bindStore(store: any, transform?: (message: any) => Entity): void;
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
