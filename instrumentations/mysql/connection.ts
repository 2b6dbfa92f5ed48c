// mysql (mysqljs) 2.x: the Connection and its protocol Sequences.
//   Connection.prototype.query → starts the call (unless pool.query already did, see pool.ts) and
//                                remembers it for the Query object the driver returns.
//   Sequence.prototype.end(err) → every Query ends here, whatever the app used (callback, events,
//                                stream): the call ends with `err`, and the callback and the
//                                'error'/'end' events run in the caller's context (the driver
//                                runs them from the socket's events, i.e. in the context of
//                                whoever opened the connection).

import type { InstrumentationHost } from '../../agent/instrumentation';
import { wrap } from '../../agent/shim';
import { active } from '../../agent/context';
import { log } from '../../agent/log';
import { SqlCall } from '../sql-common/query-call';
import { mysqlConnectionFacts, mysqlQueryFacts, mysqlServerVersion, type MysqlConfig } from '../sql-common/mysql-facts';

type AnyFn = (...args: any[]) => any;

interface MysqlConnection {
  config?: MysqlConfig;
  _protocol?: { _handshakeInitializationPacket?: { serverVersion?: unknown } | null };
}

/** Query objects (driver Sequences) whose call is being traced. */
export const calls = new WeakMap<object, SqlCall>();

export function serverVersion(conn: MysqlConnection): string | undefined {
  return mysqlServerVersion(conn._protocol?._handshakeInitializationPacket?.serverVersion);
}

export function patchConnection(Connection: unknown, host: InstrumentationHost, driverVersion: string): void {
  const proto = (Connection as { prototype?: object } | undefined)?.prototype;
  if (proto === undefined) throw new Error('mysql Connection is not a class');
  wrap(proto, 'query', (original) => wrapQuery(original, host, driverVersion));
}

function wrapQuery(original: AnyFn, host: InstrumentationHost, driverVersion: string): AnyFn {
  return function query(this: MysqlConnection, sql: unknown, values: unknown) {
    let call: SqlCall | undefined;
    try {
      const started = sql !== null && typeof sql === 'object' ? calls.get(sql) : undefined;
      if (started !== undefined) {
        // pool.query() started this call; the connection now knows the server version.
        started.versionOf = () => serverVersion(this);
      } else {
        const entity = active();
        const target = host.sql.target(this.config ?? this, () => mysqlConnectionFacts(this.config, driverVersion));
        call = new SqlCall(host.sql, host.sql.start(target, mysqlQueryFacts(sql, values), entity), entity, () => serverVersion(this));
      }
    } catch (err) {
      log.once('mysql.query', 'error', 'mysql instrumentation failed on a query; it runs untraced', { error: String(err) });
      call = undefined;
    }
    return runTracked(original, this, arguments, call);
  };
}

/**
 * Runs the driver's query function: a synchronous throw ends the call with that error (and is
 * rethrown unchanged), otherwise the returned Query object carries the call until it ends.
 */
export function runTracked(original: (...a: any[]) => unknown, thisArg: unknown, args: ArrayLike<unknown>, call: SqlCall | undefined): unknown {
  let q: unknown;
  try {
    q = Reflect.apply(original, thisArg, args);
  } catch (err) {
    call?.end(err);
    throw err;
  }
  if (call !== undefined) track(q, call);
  return q;
}

/** Remembers the call for the driver's Query object; the driver always ends a Query asynchronously. */
export function track(query: unknown, call: SqlCall): void {
  if (query !== null && typeof query === 'object') calls.set(query, call);
  else call.end();
}

export function patchSequence(Sequence: unknown): void {
  const proto = (Sequence as { prototype?: object } | undefined)?.prototype;
  if (proto === undefined) throw new Error('mysql Sequence is not a class');
  wrap(proto, 'end', (original) =>
    function end(this: object, err?: unknown) {
      const call = calls.get(this);
      if (call === undefined) return Reflect.apply(original, this, arguments);
      calls.delete(this);
      call.end(err);
      return call.runInCaller(original, this, arguments);
    },
  );
}
