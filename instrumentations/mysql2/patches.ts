// mysql2 before 3.20 (no tracing channels of its own): patches on the classes mysql2 exports.
//   Connection.prototype.query / execute → start the call; a callback argument is replaced (in
//       the arguments passed on) by one that ends the call and runs the app's callback in the
//       caller's context. A ready-made Query command (pool clusters, createQuery) gets the same
//       stand-in as its onResult — the way mysql2 itself wraps it when it traces.
//   Pool.prototype.query / execute → start the call at the pool, so a failed connect is the
//       query's error; the connection-level query it issues is handed the pool's call
//       (sql-common/handoff.ts) and records nothing.
//   Pool.prototype.getConnection → its callback runs in the caller's context.
//   Command.prototype.emit (lib/commands/command.js) → for callback-less commands (events,
//       streams): 'error' / 'end' end the call, and every event of a traced command is delivered
//       in the caller's context. No listener is ever added to the app's commands.
// The promise API (mysql2/promise) calls these same methods with callbacks.

import type { InstrumentationHost } from '../../agent/instrumentation';
import { wrap } from '../../agent/shim';
import { active } from '../../agent/context';
import { log } from '../../agent/log';
import { SqlCall, callbackIndex, withArg } from '../sql-common/query-call';
import { bindLastCallback } from '../sql-common/bind-callback';
import { takeConnectionOwner, withPoolCall } from '../sql-common/handoff';
import { mysqlQueryFacts } from '../sql-common/mysql-facts';
import { connectionTarget, ownerOf, poolTarget, serverVersion, type Mysql2Connection } from './facts';

type AnyFn = (...args: any[]) => any;

/** Commands being traced (ended by emit when the app passed no callback). */
const calls = new WeakMap<object, SqlCall>();

export function patchMysql2(exports: unknown, host: InstrumentationHost, driverVersion: string): void {
  const m = exports as { Connection?: { prototype?: object }; Pool?: { prototype?: object } };
  const conn = m.Connection?.prototype;
  const pool = m.Pool?.prototype;
  if (conn === undefined || pool === undefined) throw new Error('mysql2 does not export Connection and Pool');
  wrap(ownerOf(conn, 'query'), 'query', (original) => wrapConnectionCall(original, host, driverVersion, false));
  wrap(ownerOf(conn, 'execute'), 'execute', (original) => wrapConnectionCall(original, host, driverVersion, true));
  wrap(ownerOf(pool, 'getConnection'), 'getConnection', bindLastCallback('mysql2.pool'));
  wrap(ownerOf(pool, 'query'), 'query', (original) => wrapPoolCall(original, host, driverVersion, false));
  wrap(ownerOf(pool, 'execute'), 'execute', (original) => wrapPoolCall(original, host, driverVersion, true));
}

function wrapConnectionCall(original: AnyFn, host: InstrumentationHost, driverVersion: string, prepared: boolean): AnyFn {
  return function (this: Mysql2Connection, sql: unknown, values: unknown) {
    let call: SqlCall | undefined;
    let args: ArrayLike<unknown> = arguments;
    try {
      const at = callbackIndex(arguments);
      const pooled = takeConnectionOwner();
      if (pooled !== undefined) {
        pooled.versionOf = () => serverVersion(this);
      } else {
        const entity = active();
        const target = connectionTarget(host.sql, this, driverVersion);
        call = new SqlCall(host.sql, host.sql.start(target, mysqlQueryFacts(sql, values, prepared), entity), entity, () => serverVersion(this));
        if (at > 0) {
          args = withArg(arguments, at, call.callback(arguments[at] as AnyFn));
        } else if (isObject(sql) && typeof (sql as { onResult?: unknown }).onResult === 'function') {
          const cmd = sql as { onResult: AnyFn };
          cmd.onResult = call.callback(cmd.onResult);
        }
      }
    } catch (err) {
      log.once('mysql2.query', 'error', 'mysql2 instrumentation failed on a query; it runs untraced', { error: String(err) });
      call?.end();
      call = undefined;
      args = arguments;
    }
    let cmd: unknown;
    try {
      cmd = Reflect.apply(original, this, args);
    } catch (err) {
      call?.end(err);
      throw err;
    }
    if (call !== undefined && isObject(cmd)) calls.set(cmd, call);
    return cmd;
  };
}

function wrapPoolCall(original: AnyFn, host: InstrumentationHost, driverVersion: string, prepared: boolean): AnyFn {
  return function (this: { config?: object }, sql: unknown, values: unknown) {
    const at = callbackIndex(arguments);
    // execute() without a callback returns nothing to observe: the connection patch records it.
    if (prepared && at <= 0) return Reflect.apply(original, this, arguments);
    let call: SqlCall | undefined;
    let args: ArrayLike<unknown> = arguments;
    try {
      const entity = active();
      const target = poolTarget(host.sql, this, driverVersion);
      call = new SqlCall(host.sql, host.sql.start(target, mysqlQueryFacts(sql, values, prepared), entity), entity);
      if (at > 0) args = withArg(arguments, at, call.callback(arguments[at] as AnyFn));
    } catch (err) {
      log.once('mysql2.pool.query', 'error', 'mysql2 instrumentation failed on a pool query; it runs untraced', { error: String(err) });
      call?.end();
      call = undefined;
      args = arguments;
    }
    let cmd: unknown;
    try {
      cmd = call === undefined ? Reflect.apply(original, this, args) : withPoolCall(call, () => Reflect.apply(original, this, args));
    } catch (err) {
      call?.end(err);
      throw err;
    }
    if (call !== undefined && isObject(cmd)) calls.set(cmd, call);
    return cmd;
  };
}

export function patchCommand(Command: unknown): void {
  const proto = (Command as { prototype?: object } | undefined)?.prototype;
  if (proto === undefined) throw new Error('mysql2 Command is not a class');
  wrap(proto, 'emit', (original) =>
    function emit(this: object, event: unknown, err?: unknown) {
      const call = calls.get(this);
      if (call === undefined) return Reflect.apply(original, this, arguments);
      if (event === 'error') call.end(err);
      else if (event === 'end') call.end();
      return call.runInCaller(original, this, arguments);
    },
  );
}

function isObject(v: unknown): v is object {
  return v !== null && typeof v === 'object';
}
