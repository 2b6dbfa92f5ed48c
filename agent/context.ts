// The one place that knows how the active trace entity travels with async work.
// AsyncLocalStorage only: no cls-hooked, no patched promises. Each incoming request runs its
// handler inside `run(segment, …)`, so concurrent requests can never see each other's entities.

import { AsyncLocalStorage } from 'node:async_hooks';
import type { Entity } from './model/entity';

const storage = new AsyncLocalStorage<Entity>();

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
