// pg's Client: every query the app (or pg-pool) sends goes through Client.prototype.query.
//   callback form  → the callback is replaced (in the arguments passed on, never in the caller's
//                    objects) by one that ends the subsegment and runs the app's callback in the
//                    caller's context: pg calls it from the socket's events, i.e. in the context
//                    of whoever connected the client (another request, for a pooled client).
//   promise form   → the very promise pg returns is observed on a side branch.
//   Submittables   → (pg-cursor, pg-query-stream, new pg.Query) run their own lifecycle: untraced.
// Client.prototype.connect adds a listener for ParameterStatus messages, where the server tells its
// version (no extra query).

import type { InstrumentationHost } from '../../agent/instrumentation';
import { wrap } from '../../agent/shim';
import { active } from '../../agent/context';
import { log } from '../../agent/log';
import { SqlCall, withArg } from '../sql-common/query-call';
import { clientFacts, onParameterStatus, queryFacts, serverVersionOf } from './facts';
import { takeConnectionOwner } from '../sql-common/handoff';

type AnyFn = (...args: any[]) => any;

interface PgClient {
  connectionParameters?: object;
  connection?: { on?: AnyFn; listeners?: (name: string) => unknown[] };
}

export function patchClient(Client: unknown, host: InstrumentationHost, driverVersion: string): void {
  const proto = (Client as { prototype?: object } | undefined)?.prototype;
  if (typeof Client !== 'function' || proto === undefined) throw new Error('pg.Client is not a class');
  wrap(proto, 'query', (original) => wrapQuery(original, host, driverVersion));
  wrap(proto, 'connect', wrapConnect);
}

function wrapQuery(original: AnyFn, host: InstrumentationHost, driverVersion: string): AnyFn {
  return function query(this: PgClient, config: unknown, values: unknown, callback: unknown) {
    let call: SqlCall | undefined;
    let args: ArrayLike<unknown> = arguments;
    let borrowed: { config: { callback?: unknown }; cb: unknown } | undefined;
    try {
      const owner = takeConnectionOwner();
      if (owner !== undefined) {
        // pool.query() records this query; it only needs the connection's server version.
        owner.versionOf = () => serverVersionOf(this);
      } else {
        const facts = queryFacts(config, values);
        if (facts !== undefined) {
          const entity = active();
          const target = host.sql.target(this.connectionParameters ?? this, () => clientFacts(this, driverVersion));
          call = new SqlCall(host.sql, host.sql.start(target, facts, entity), entity, () => serverVersionOf(this));
          // pg takes the third argument over the second when both are functions.
          const at = typeof callback === 'function' ? 2 : typeof values === 'function' ? 1 : -1;
          if (at !== -1) {
            args = withArg(arguments, at, call.callback(arguments[at] as AnyFn));
            // pg copies the callback into a config object; what it copies must stay the app's.
            if (typeof config === 'object') borrowed = { config: config as { callback?: unknown }, cb: arguments[at] };
          } else {
            const own = (config as { callback?: unknown } | null)?.callback;
            if (typeof own === 'function') {
              // query({ text, callback }): pg copies a callback argument into the config object,
              // so ours goes in as the third argument and the app's is put back right after.
              if (!isWritable(config as object, 'callback')) {
                call.end();
                call = undefined;
              } else {
                borrowed = { config: config as { callback?: unknown }, cb: own };
                args = [config, values, call.callback(own as AnyFn)];
              }
            }
          }
        }
      }
    } catch (err) {
      log.once('pg.query', 'error', 'pg instrumentation failed on a query; it runs untraced', { error: String(err) });
      call?.end();
      call = undefined;
      args = arguments;
      borrowed = undefined;
    }
    let result: unknown;
    try {
      result = Reflect.apply(original, this, args);
    } catch (err) {
      call?.end(err);
      throw err;
    } finally {
      if (borrowed !== undefined) restore(borrowed.config, borrowed.cb);
    }
    // Callback form: pg returns undefined and the callback ends the call. Promise form: observe.
    if (call !== undefined && args === arguments) return call.observe(result);
    return result;
  };
}

function wrapConnect(original: AnyFn): AnyFn {
  return function connect(this: PgClient) {
    try {
      const con = this.connection;
      if (con !== undefined && typeof con.on === 'function' && !con.listeners?.('parameterStatus').includes(onParameterStatus)) {
        con.on('parameterStatus', onParameterStatus);
      }
    } catch (err) {
      log.once('pg.connect', 'debug', 'pg: could not observe the server version', { error: String(err) });
    }
    return Reflect.apply(original, this, arguments);
  };
}

function isWritable(obj: object, key: string): boolean {
  for (let o: object | null = obj; o !== null; o = Object.getPrototypeOf(o)) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d !== undefined) return o === obj ? d.writable === true || d.set !== undefined : Object.isExtensible(obj) && d.writable !== false;
  }
  return Object.isExtensible(obj);
}

function restore(config: { callback?: unknown }, cb: unknown): void {
  try {
    if (config.callback !== cb) config.callback = cb;
  } catch {
    // it was writable a moment ago; nothing else to do
  }
}
