// Where the current entity is kept for each async flow. Two implementations with one behaviour
// (AsyncLocalStorage's: getStore / run / enterWith), chosen once per process:
//
// - Where AsyncLocalStorage keeps its store on async resources (Node 20 and 22 by default), our own
//   async_hooks `init` hook does the same job for less. AsyncLocalStorage writes its slot on every
//   resource created, also `undefined` on the many created outside any request (an HTTP
//   connection's reads, writes and stream ticks: ~10 per request on a plain server). That write adds
//   a property to objects such as process.nextTick's, which V8 answers with a slower shape and an
//   allocation. This hook writes only when there is something to carry (or a stale value to clear
//   on a resource Node initializes a second time). Measured on the plain-app bench: ALS alone
//   +3.0 µs per request, this hook +1.1 µs (docs/design-decisions.md, row 27).
// - Where AsyncLocalStorage is built on async context frames (Node 24 by default, 22 with a flag),
//   it needs no hook at all and is cheaper than any hook: it is used as it is.
//
// Which one is chosen (and the hook enabled) when a first entity is made current, not when this
// module loads: the choice costs ~0.5 ms (a probe that enables and disables AsyncLocalStorage's
// own hook), and until a request is traced nothing of the process's async work pays for a hook.

import { AsyncLocalStorage, createHook, executionAsyncId, executionAsyncResource } from 'node:async_hooks';

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

/** The store on async resources, carried by an `init` hook of our own (enabled when constructed). */
export class ResourceHookStore<T> implements EntityStore<T> {
  readonly kind = 'resource-hook' as const;
  private readonly slot = Symbol('xray.entity');
  // The store of the current execution context, remembered with that context's async id. Reading it
  // from the context's resource costs a call into Node's C++ (executionAsyncResource, for a native
  // resource such as the socket whose read runs a request's handler) and two megamorphic lookups;
  // one context often creates several resources in a row (a handler's stream ticks, its write, its
  // timer). Only this class writes the slot of a context's resource (runApply, enterWith), and each
  // such write updates or forgets what was remembered; an async id names one resource for its whole
  // life.
  private rememberedId = -1;
  private remembered: T | undefined = undefined;

  constructor() {
    const slot = this.slot;
    createHook({
      init: (_asyncId: number, type: string, _triggerAsyncId: number, resource: object): void => {
        // An exception here would end the process (Node treats a throwing hook as fatal): an
        // exotic resource (a Proxy that throws) goes without context instead.
        try {
          const store = this.getStore();
          // A resource Node initializes a second time (a re-armed timer, a native handle reset for
          // reuse) must not keep the value of its previous use: `resource[slot] !== undefined`.
          // process.nextTick's objects are always new, and the most frequent: they skip that read
          // (a megamorphic lookup of a property the object lacks, so V8 also searches its prototype).
          if (store !== undefined || (type !== 'TickObject' && (resource as Slotted)[slot] !== undefined)) (resource as Slotted)[slot] = store;
        } catch {
          /* no context for this resource */
        }
      },
    }).enable();
  }

  getStore(): T | undefined {
    const id = executionAsyncId();
    if (id === this.rememberedId) return this.remembered;
    const store = (executionAsyncResource() as Slotted)[this.slot] as T | undefined;
    this.rememberedId = id;
    this.remembered = store;
    return store;
  }

  run<R>(store: T | undefined, fn: (...args: any[]) => R, ...args: any[]): R {
    return this.runApply(store, fn, undefined, args);
  }

  runApply<R>(store: T | undefined, fn: (...args: any[]) => R, thisArg: unknown, args: ArrayLike<unknown>): R {
    const id = executionAsyncId();
    const slot = this.slot;
    let resource: Slotted | undefined;
    let previous: T | undefined;
    if (id === this.rememberedId) {
      previous = this.remembered;
    } else {
      resource = executionAsyncResource() as Slotted;
      previous = resource[slot] as T | undefined;
      this.rememberedId = id;
      this.remembered = previous;
    }
    // Nothing to change (often: Node's own work run outside any entity): no resource needed at all.
    if (previous === store) return Reflect.apply(fn, thisArg, args);
    resource ??= executionAsyncResource() as Slotted;
    resource[slot] = store;
    // The context's store is known here, before and after fn: remembered with its async id, so the
    // next read (fn's first, or the caller's after it) needs no executionAsyncResource(). Async ids
    // are unique: should fn leave another context current, a read there does not match this id.
    this.rememberedId = id;
    this.remembered = store;
    try {
      return Reflect.apply(fn, thisArg, args);
    } finally {
      resource[slot] = previous;
      this.rememberedId = id;
      this.remembered = previous;
    }
  }

  enterWith(store: T | undefined): void {
    (executionAsyncResource() as Slotted)[this.slot] = store;
    this.rememberedId = -1;
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

/** The implementation this runtime gets: the hook where AsyncLocalStorage keeps its value on resources. */
export function chooseEntityStore<T>(): EntityStore<T> {
  return alsKeepsStoreOnResources() ? new ResourceHookStore<T>() : new AlsStore<T>();
}

/**
 * The store the agent uses: it chooses its implementation when a first entity is made current.
 * Until then nothing is current, so getStore() is undefined and run(undefined, fn) is fn() (the
 * agent's own timers at start-up run that way without making the choice).
 */
class DeferredStore<T> implements EntityStore<T> {
  private impl: EntityStore<T> | undefined;

  get kind(): EntityStore<T>['kind'] {
    return (this.impl ??= chooseEntityStore<T>()).kind;
  }

  getStore(): T | undefined {
    return this.impl?.getStore();
  }

  run<R>(store: T | undefined, fn: (...args: any[]) => R, ...args: any[]): R {
    return this.runApply(store, fn, undefined, args);
  }

  runApply<R>(store: T | undefined, fn: (...args: any[]) => R, thisArg: unknown, args: ArrayLike<unknown>): R {
    if (this.impl === undefined) {
      if (store === undefined) return Reflect.apply(fn, thisArg, args);
      this.impl = chooseEntityStore<T>();
    }
    return this.impl.runApply(store, fn, thisArg, args);
  }

  enterWith(store: T | undefined): void {
    if (this.impl === undefined) {
      if (store === undefined) return;
      this.impl = chooseEntityStore<T>();
    }
    this.impl.enterWith(store);
  }
}

export function createEntityStore<T>(): EntityStore<T> {
  return new DeferredStore<T>();
}
