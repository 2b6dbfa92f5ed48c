// One traced database call, from the moment the app issues it to the moment the driver reports
// its outcome: shared by every SQL driver instrumentation, so ending the subsegment, recording the
// error and running the app's callback in the app's own context are written once.
//
// Context: a driver runs callbacks from its socket's events, i.e. in the async context of whoever
// opened the (pooled) connection, or of whoever released it to a pool queue. The app's callback
// must run in the context of the call that issued the query, so it is run with `entity` (the
// caller's active entity at call time) current — also when the call is not sampled.

import type { Entity, Subsegment } from '../../agent/model/entity';
import type { SqlSpans } from '../../agent/spans/sql';
import { runApply } from '../../agent/context';
import { log } from '../../agent/log';
import { isThenable, observeSettled } from '../../agent/settled';

type AnyFn = (...args: any[]) => any;

export class SqlCall {
  constructor(
    private readonly spans: SqlSpans,
    /** Undefined when the call is not traced (unsampled, no segment, already traced upstream). */
    public sub: Subsegment | undefined,
    /** The caller's active entity when the query was issued. */
    readonly entity: Entity | undefined,
    /** Reads the server version the connection reported, once the call is over. */
    public versionOf?: () => string | undefined,
  ) {}

  /** Records the outcome (once; later calls are ignored). Never throws. */
  end(err?: unknown): void {
    const sub = this.sub;
    if (sub === undefined) return;
    this.sub = undefined;
    try {
      this.spans.end(sub, err, { remote: isServerError(err), databaseVersion: this.versionOf?.() });
    } catch (e) {
      log.once('sql.end', 'error', 'SQL instrumentation failed to end a subsegment', { error: String(e) });
    }
  }

  /**
   * A stand-in for the app's node-style callback: ends the call with the callback's first
   * argument, then runs `cb` with the same `this` and arguments, in the caller's context, and
   * returns what it returns. Exceptions from `cb` propagate exactly as before.
   */
  callback(cb: AnyFn): AnyFn {
    const call = this;
    return function (this: unknown, err?: unknown) {
      call.end(err);
      return runApply(call.entity, cb, this, arguments);
    };
  }

  /**
   * Ends the call when the promise (or thenable) the driver returned settles; returns what the app
   * gets instead, a promise of the very same outcome (agent/settled.ts says why it is chained).
   */
  observe(result: unknown): unknown {
    if (this.sub === undefined) return result;
    if (!isThenable(result)) {
      this.end();
      return result;
    }
    return observeSettled(
      result,
      () => this.end(),
      (err) => this.end(err ?? new Error('query failed')),
    );
  }

  /** Runs `fn` in the caller's context (for driver events and callbacks not passed through `callback`). */
  runInCaller<R>(fn: (...a: any[]) => R, thisArg: unknown, args: ArrayLike<unknown>): R {
    return runApply(this.entity, fn, thisArg, args);
  }
}

/**
 * True for errors the database server returned (they carry an SQLSTATE: `sqlState` in mysql and
 * mysql2, a five-character `code` with a `severity` in pg); connection failures, timeouts and
 * embedded-database errors are not remote.
 */
export function isServerError(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const e = err as { sqlState?: unknown; severity?: unknown; code?: unknown };
  if (typeof e.sqlState === 'string' && e.sqlState.length === 5) return true;
  return typeof e.severity === 'string' && typeof e.code === 'string' && e.code.length === 5;
}

/** Index of the last argument if it is a function (the node-style callback), else -1. */
export function callbackIndex(args: ArrayLike<unknown>): number {
  const i = args.length - 1;
  return i >= 0 && typeof args[i] === 'function' ? i : -1;
}

/** Copy of `args` with the element at `index` replaced (the caller's array is never touched). */
export function withArg(args: ArrayLike<unknown>, index: number, value: unknown): unknown[] {
  const copy = Array.prototype.slice.call(args) as unknown[];
  copy[index] = value;
  return copy;
}

/** True when values were bound to the query: anything but nothing, a function or an empty array. */
export function hasParameters(values: unknown): boolean {
  if (values === undefined || values === null || typeof values === 'function') return false;
  return !Array.isArray(values) || values.length > 0;
}
