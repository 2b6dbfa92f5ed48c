// sqlite3 (node-sqlite3) 5.x: the Database methods that take a completion callback —
// run, get, all, each (with its completion callback), map and exec. A call without a callback
// reports its errors as 'error' events, which are not observed (no listener is ever added), so it
// runs untraced; so do prepared Statement objects. The callback is replaced, in the arguments
// passed on, by one that ends the call and runs the app's callback in the caller's context, with
// the Statement as `this` as before. (5.1 is the floor: 5.0.x defines the native exec read-only,
// which agent/shim leaves alone, and its callbacks lose the async context.)

import type { ModuleInstrumentation } from '../../agent/hooks/definition';
import type { InstrumentationHost } from '../../agent/instrumentation';
import { wrap } from '../../agent/shim';
import { active } from '../../agent/context';
import { log } from '../../agent/log';
import { SqlCall, callbackIndex, hasParameters, withArg } from '../sql-common/query-call';
import { sqliteFacts } from '../sql-common/sqlite-facts';

type AnyFn = (...args: any[]) => any;

const METHODS = ['run', 'get', 'all', 'each', 'map', 'exec'] as const;

function patchSqlite3(exports: unknown, host: InstrumentationHost, driverVersion: string): void {
  const m = exports as { Database?: { prototype?: object }; VERSION?: unknown };
  const proto = m.Database?.prototype;
  if (proto === undefined) throw new Error('sqlite3 does not export Database');
  const libraryVersion = typeof m.VERSION === 'string' ? m.VERSION : undefined;
  for (const name of METHODS) wrap(proto, name, (original) => wrapMethod(original, name, host, driverVersion, libraryVersion));
}

function wrapMethod(original: AnyFn, name: string, host: InstrumentationHost, driverVersion: string, libraryVersion: string | undefined): AnyFn {
  return function (this: { filename?: unknown }, sql: unknown) {
    const at = callbackIndex(arguments);
    if (at <= 0) return Reflect.apply(original, this, arguments);
    // each(sql, [params], rowCallback, completeCallback): a single trailing function is the row
    // callback, and then there is no completion to observe.
    const rowCallback = name === 'each' ? at - 1 : -1;
    if (name === 'each' && (rowCallback < 1 || typeof arguments[rowCallback] !== 'function')) return Reflect.apply(original, this, arguments);
    let call: SqlCall | undefined;
    let args: ArrayLike<unknown> = arguments;
    try {
      const params = Array.prototype.slice.call(arguments, 1, rowCallback === -1 ? at : rowCallback);
      const prepared = params.length > 1 || (params.length === 1 && hasParameters(params[0]));
      const entity = active();
      const target = host.sql.target(this, () => sqliteFacts(this.filename, driverVersion));
      call = new SqlCall(host.sql, host.sql.start(target, { text: sql, preparation: prepared ? 'statement' : undefined }, entity), entity, () => libraryVersion);
      args = withArg(arguments, at, call.callback(arguments[at] as AnyFn));
    } catch (err) {
      log.once('sqlite3.query', 'error', 'sqlite3 instrumentation failed on a query; it runs untraced', { error: String(err) });
      call?.end();
      call = undefined;
      args = arguments;
    }
    try {
      return Reflect.apply(original, this, args);
    } catch (err) {
      call?.end(err);
      throw err;
    }
  };
}

export const sqlite3: ModuleInstrumentation = {
  name: 'sqlite3',
  module: 'sqlite3',
  versions: ['>=5.1.0 <6'],
  patch: (exports, ctx) => patchSqlite3(exports, ctx.host, `sqlite3@${ctx.version}`),
};
