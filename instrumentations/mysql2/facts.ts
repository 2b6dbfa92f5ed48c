// What the mysql2 instrumentation reads off mysql2's objects, for both paths (channels.ts for
// mysql2 >= 3.20, patches.ts before): where a connection or pool points, and the server version
// from the connection's handshake.

import type { SqlSpans, SqlTarget } from '../../agent/spans/sql';
import { mysqlConnectionFacts, mysqlServerVersion, type MysqlConfig } from '../sql-common/mysql-facts';

export interface Mysql2Connection {
  config?: MysqlConfig;
  _handshakePacket?: { serverVersion?: unknown } | null;
}

export function connectionTarget(spans: SqlSpans, conn: Mysql2Connection, driverVersion: string): SqlTarget {
  return spans.target(conn.config ?? conn, () => mysqlConnectionFacts(conn.config, driverVersion));
}

export function poolTarget(spans: SqlSpans, pool: { config?: { connectionConfig?: MysqlConfig } }, driverVersion: string): SqlTarget {
  const config = pool.config?.connectionConfig;
  return spans.target(config ?? pool, () => mysqlConnectionFacts(config, driverVersion));
}

export function serverVersion(conn: Mysql2Connection): string | undefined {
  return mysqlServerVersion(conn._handshakePacket?.serverVersion);
}

/**
 * The prototype that defines `name`, walking up from `proto`. mysql2 3.15–3.19 derive pool
 * connections from an internal base class, not from the exported Connection: a wrap must sit on
 * the class that owns the method to reach both.
 */
export function ownerOf(proto: object, name: string): object {
  for (let o: object | null = proto; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    if (Object.prototype.hasOwnProperty.call(o, name)) return o;
  }
  return proto;
}
