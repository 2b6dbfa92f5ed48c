// mysql (mysqljs) 2.x pools. getConnection(cb) runs its callback in the caller's context (a queued
// caller is otherwise called back in the context of the request that released a connection).
// query() starts the call itself, so that a failed connect (connection refused, pool closed,
// queue limit) is recorded as the query's error; the Connection patch then sees the same Query
// object and does not start a second call.

import type { InstrumentationHost } from '../../agent/instrumentation';
import { wrap } from '../../agent/shim';
import { active } from '../../agent/context';
import { log } from '../../agent/log';
import { SqlCall } from '../sql-common/query-call';
import { bindLastCallback } from '../sql-common/bind-callback';
import { mysqlConnectionFacts, mysqlQueryFacts, type MysqlConfig } from '../sql-common/mysql-facts';
import { runTracked } from './connection';

type AnyFn = (...args: any[]) => any;

export function patchPool(Pool: unknown, host: InstrumentationHost, driverVersion: string): void {
  const proto = (Pool as { prototype?: object } | undefined)?.prototype;
  if (proto === undefined) throw new Error('mysql Pool is not a class');
  wrap(proto, 'getConnection', bindLastCallback('mysql.pool'));
  wrap(proto, 'query', (original) => wrapPoolQuery(original, host, driverVersion));
}

function wrapPoolQuery(original: AnyFn, host: InstrumentationHost, driverVersion: string): AnyFn {
  return function query(this: { config?: { connectionConfig?: MysqlConfig } }, sql: unknown, values: unknown) {
    let call: SqlCall | undefined;
    try {
      const config = this.config?.connectionConfig;
      const entity = active();
      const target = host.sql.target(config ?? this, () => mysqlConnectionFacts(config, driverVersion));
      call = new SqlCall(host.sql, host.sql.start(target, mysqlQueryFacts(sql, values), entity), entity);
    } catch (err) {
      log.once('mysql.pool.query', 'error', 'mysql instrumentation failed on a pool query; it runs untraced', { error: String(err) });
      call = undefined;
    }
    return runTracked(original, this, arguments, call);
  };
}
