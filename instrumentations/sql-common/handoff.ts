// A pool's query() (pg-pool, mysql2) runs the connection's query later, on whichever connection
// the pool hands out. The pool-level call already records that query (it is the only place that
// sees a failed connect), so the connection-level patch must not record it again. The pool call is
// handed over synchronously, never through the async context:
//   pool.query → (sync) pool.getConnection/connect(callback)    withPoolCall / takePoolCall
//   later the callback runs → (sync) connection.query()          withConnectionOwner / takeConnectionOwner
// Each step sets a variable only for the duration of one synchronous call and restores it after.

import type { SqlCall } from './query-call';

/** Set while a pool's query() runs, read by the connect/getConnection it calls. */
let poolCall: SqlCall | undefined;
/** Set while a pool query's connection callback runs, read by the connection query it issues. */
let connectionOwner: SqlCall | undefined;

export function withPoolCall<R>(call: SqlCall, fn: () => R): R {
  const prev = poolCall;
  poolCall = call;
  try {
    return fn();
  } finally {
    poolCall = prev;
  }
}

/** The pool query this connect/getConnection belongs to, if any (taken once). */
export function takePoolCall(): SqlCall | undefined {
  const call = poolCall;
  poolCall = undefined;
  return call;
}

export function withConnectionOwner<R>(owner: SqlCall | undefined, fn: () => R): R {
  if (owner === undefined) return fn();
  const prev = connectionOwner;
  connectionOwner = owner;
  try {
    return fn();
  } finally {
    connectionOwner = prev;
  }
}

/** The pool call that already records this connection-level query, if any (taken once). */
export function takeConnectionOwner(): SqlCall | undefined {
  const owner = connectionOwner;
  connectionOwner = undefined;
  return owner;
}
