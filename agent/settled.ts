// Observing how a library's promise settles, for the instrumentations that end a subsegment then
// (SQL queries, AWS SDK v3 calls, koa middleware).
//
// The observation is chained, and the chained promise is what the app gets: a promise of the very
// same outcome. Watching the library's promise on a side branch instead would give it two
// handlers, and V8 follows an async stack trace only through a promise with one (the app's own
// frames vanished from the stacks of failed queries and calls); a side branch would also count as
// handling a rejection the app left unhandled. The agent's callbacks never change that outcome:
// whatever they throw is swallowed here.

/** A promise, or any object or function with a `then` method. */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * A promise that settles as `p` does, after `onValue(value)` or `onError(reason)` ran. When `p`'s
 * `then` throws or returns no thenable (an odd thenable), `p` itself, with `onError` called at
 * once for a throwing `then`.
 */
export function observeSettled<T>(p: PromiseLike<T>, onValue: (value: T) => void, onError: (reason: unknown) => void): PromiseLike<T> {
  try {
    const chained = p.then(
      (value) => {
        quietly(onValue, value);
        return value;
      },
      (reason: unknown) => {
        quietly(onError, reason);
        throw reason;
      },
    );
    return isThenable(chained) ? (chained as PromiseLike<T>) : p;
  } catch (err) {
    quietly(onError, err);
    return p;
  }
}

function quietly<A>(fn: (arg: A) => void, arg: A): void {
  try {
    fn(arg);
  } catch {
    // The agent's own failure: the app's outcome goes on as it was.
  }
}
