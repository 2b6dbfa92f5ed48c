// pg-pool (what pg.Pool is built on). Two jobs:
//   connect(callback): the callback runs when a client is free — for a queued caller, when some
//     other request releases one, i.e. in that request's async context. It is bound to the
//     context of the call that asked for the client, so everything the app does with the client
//     (queries included) belongs to the right request. (The promise form needs nothing: an
//     awaited promise resumes in the awaiting context.)
//   query(): recorded here rather than by the client patch, because only here a failed connect
//     (connection refused, pool timeout) is seen as the query's error. The client.query() it runs
//     later is handed the pool call (sql-common/handoff.ts) and does not record it again.

import type { ModuleInstrumentation } from '../../agent/hooks/definition';
import type { InstrumentationHost } from '../../agent/instrumentation';
import { wrap } from '../../agent/shim';
import { active } from '../../agent/context';
import { log } from '../../agent/log';
import { SqlCall, withArg } from '../sql-common/query-call';
import { pgDriverVersion, poolFacts, queryFacts } from './facts';
import { withPoolCall } from '../sql-common/handoff';
import { bindLastCallback } from '../sql-common/bind-callback';

type AnyFn = (...args: any[]) => any;

function patchPool(exports: unknown, host: InstrumentationHost, version: string): void {
  const proto = (exports as { prototype?: object } | undefined)?.prototype;
  if (typeof exports !== 'function' || proto === undefined) throw new Error('pg-pool does not export a class');
  wrap(proto, 'connect', bindLastCallback('pg-pool'));
  wrap(proto, 'query', (original) => wrapQuery(original, host, `pg-pool@${version}`));
}

function wrapQuery(original: AnyFn, host: InstrumentationHost, poolVersion: string): AnyFn {
  return function query(this: { options?: object }, text: unknown, values: unknown, cb: unknown) {
    let call: SqlCall | undefined;
    let args: ArrayLike<unknown> = arguments;
    try {
      const facts = typeof text === 'function' ? undefined : queryFacts(text, values);
      if (facts !== undefined) {
        const entity = active();
        const target = host.sql.target(this, () => poolFacts(this, pgDriverVersion(poolVersion)));
        call = new SqlCall(host.sql, host.sql.start(target, facts, entity), entity);
        const at = typeof values === 'function' ? 1 : typeof cb === 'function' ? 2 : -1;
        if (at !== -1) args = withArg(arguments, at, call.callback(arguments[at] as AnyFn));
      }
    } catch (err) {
      log.once('pg-pool.query', 'error', 'pg-pool instrumentation failed on a query; it runs untraced', { error: String(err) });
      call?.end();
      call = undefined;
      args = arguments;
    }
    if (call === undefined) return Reflect.apply(original, this, args);
    const traced = call;
    let result: unknown;
    try {
      result = withPoolCall(traced, () => Reflect.apply(original, this, args));
    } catch (err) {
      traced.end(err);
      throw err;
    }
    if (args === arguments) return traced.observe(result);
    return result;
  };
}

export const pgPool: ModuleInstrumentation = {
  name: 'pg',
  module: 'pg-pool',
  versions: ['>=3.1.1 <4'],
  patch: (exports, ctx) => patchPool(exports, ctx.host, ctx.version),
};
