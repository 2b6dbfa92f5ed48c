// Where the current entity is kept for each async flow. Two implementations with one behaviour
// (AsyncLocalStorage's: getStore / run / enterWith), chosen once per process:
//
// - Where AsyncLocalStorage keeps its store on async resources (Node 20 and 22 by default), our own
//   async_hooks `init` hook does the same job for less. AsyncLocalStorage writes its slot on every
//   resource created, also `undefined` on the many created outside any request (an HTTP
//   connection's reads, writes and stream ticks: ~10 per request on a plain server). That write adds
//   a property to objects such as process.nextTick's, which V8 answers with a slower shape and an
//   allocation. This hook writes only when there is something to carry (or a stale value to clear
//   on a resource Node reuses, like an HTTP parser). Measured on the plain-app bench: ALS alone
//   +3.0 µs per request, this hook +1.1 µs (docs/design-decisions.md, row 27).
// - Where AsyncLocalStorage is built on async context frames (Node 24 by default, 22 with a flag),
//   it needs no hook at all and is cheaper than any hook: it is used as it is.
//
// The hook is enabled by the first run() / enterWith(), not when this module loads: until a
// request is traced, nothing of the process's async work pays for it.

import { AsyncLocalStorage, createHook, executionAsyncResource } from 'node:async_hooks';

/** The subset of AsyncLocalStorage the agent uses (and diagnostics_channel's bindStore calls). */
export interface EntityStore<T> {
  getStore(): T | undefined;
  run<R>(store: T | undefined, fn: (...args: any[]) => R, ...args: any[]): R;
  /** run(), with `fn.apply(thisArg, args)` and no array made for the arguments. */
  runApply<R>(store: T | undefined, fn: (...args: any[]) => R, thisArg: unknown, args: ArrayLike<unknown>): R;
  enterWith(store: T | undefined): void;
  /** Which implementation this is (for diagnostics and tests). */
  readonly kind: 'resource-hook' | 'async-local-storage';
}

type Slotted = Record<symbol, unknown>;

/** The store on async resources, carried by an `init` hook of our own. */
export class ResourceHookStore<T> implements EntityStore<T> {
  readonly kind = 'resource-hook' as const;
  private readonly slot = Symbol('xray.entity');
  private enabled = false;

  getStore(): T | undefined {
    if (!this.enabled) return undefined;
    return (executionAsyncResource() as Slotted)[this.slot] as T | undefined;
  }

  run<R>(store: T | undefined, fn: (...args: any[]) => R, ...args: any[]): R {
    return this.runApply(store, fn, undefined, args);
  }

  runApply<R>(store: T | undefined, fn: (...args: any[]) => R, thisArg: unknown, args: ArrayLike<unknown>): R {
    if (!this.enabled) {
      // Nothing is current before the first value: run(undefined) (the agent's own timers at
      // start-up) changes nothing and must not enable the hook, which every promise of the app's
      // module loading would then pay for (measured: +7 ms of ESM start-up).
      if (store === undefined) return Reflect.apply(fn, thisArg, args);
      this.enable();
    }
    const resource = executionAsyncResource() as Slotted;
    const slot = this.slot;
    const previous = resource[slot];
    if (previous === store) return Reflect.apply(fn, thisArg, args);
    resource[slot] = store;
    try {
      return Reflect.apply(fn, thisArg, args);
    } finally {
      resource[slot] = previous;
    }
  }

  enterWith(store: T | undefined): void {
    if (!this.enabled) {
      if (store === undefined) return;
      this.enable();
    }
    (executionAsyncResource() as Slotted)[this.slot] = store;
  }

  private enable(): void {
    this.enabled = true;
    const slot = this.slot;
    createHook({
      init(_asyncId: number, _type: string, _triggerAsyncId: number, resource: object): void {
        // An exception here would end the process (Node treats a throwing hook as fatal): an
        // exotic resource (a Proxy that throws) goes without context instead.
        try {
          const store = (executionAsyncResource() as Slotted)[slot];
          // `resource[slot] !== undefined`: a resource Node initializes a second time (native ones
          // can be reset for reuse) must not keep the value of its previous use.
          if (store !== undefined || (resource as Slotted)[slot] !== undefined) (resource as Slotted)[slot] = store;
        } catch {
          /* no context for this resource */
        }
      },
    }).enable();
  }
}

/** AsyncLocalStorage itself, with runApply added. */
export class AlsStore<T> implements EntityStore<T> {
  readonly kind = 'async-local-storage' as const;
  private readonly als = new AsyncLocalStorage<T | undefined>();

  getStore(): T | undefined {
    return this.als.getStore();
  }

  run<R>(store: T | undefined, fn: (...args: any[]) => R, ...args: any[]): R {
    return this.als.run(store, fn, ...args);
  }

  runApply<R>(store: T | undefined, fn: (...args: any[]) => R, thisArg: unknown, args: ArrayLike<unknown>): R {
    return this.als.run(store, Reflect.apply, fn, thisArg, args) as R;
  }

  enterWith(store: T | undefined): void {
    this.als.enterWith(store);
  }
}

/**
 * True when this runtime's AsyncLocalStorage keeps its store on async resources (the hook-based
 * implementation): seen by whether, inside run(), the current resource holds the value, directly
 * (Node 20, 22) or in a per-resource table (Node 24 with --no-async-context-frame). Asked of the
 * behaviour, not of version numbers, so a flag that switches the implementation is followed too.
 */
export function alsKeepsStoreOnResources(): boolean {
  try {
    const probe = new AsyncLocalStorage<object>();
    const marker = {};
    const holds = (v: unknown): boolean =>
      v === marker || (typeof v === 'object' && v !== null && Reflect.ownKeys(v).some((k) => (v as Slotted)[k as symbol] === marker));
    const onResource = probe.run(marker, () => {
      const resource = executionAsyncResource() as Slotted;
      return Object.getOwnPropertySymbols(resource).some((s) => holds(resource[s]));
    });
    probe.disable();
    return onResource;
  } catch {
    return false;
  }
}

export function createEntityStore<T>(): EntityStore<T> {
  return alsKeepsStoreOnResources() ? new ResourceHookStore<T>() : new AlsStore<T>();
}
