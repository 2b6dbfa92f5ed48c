// Facts shared by the two MySQL-protocol drivers, mysql and mysql2: both take the same
// `query(sql | options | Query, values?, callback?)` arguments and keep the same connection config
// fields; both read the server version from the handshake.

import type { SqlConnectionFacts, SqlQueryFacts } from '../../agent/spans/sql';
import { hasParameters } from './query-call';

export interface MysqlConfig {
  host?: string;
  port?: number | string;
  socketPath?: string;
  database?: string;
  user?: string;
}

/** Where a connection (or a pool's connections) point. The password in the same object is never read. */
export function mysqlConnectionFacts(config: MysqlConfig | undefined, driverVersion: string): SqlConnectionFacts {
  const c = config ?? {};
  // A unix socket has no host or port: name the subsegment after localhost, write no URL.
  if (typeof c.socketPath === 'string' && c.socketPath.length > 0) {
    return { databaseType: 'MySQL', host: 'localhost', database: c.database, user: c.user, driverVersion };
  }
  return { databaseType: 'MySQL', scheme: 'mysql', host: c.host ?? 'localhost', port: c.port ?? 3306, database: c.database, user: c.user, driverVersion };
}

/**
 * The query text as given (before the driver interpolates values into it) and whether values
 * were bound. `sql` is a string, an options object `{ sql, values }` or a driver Query object,
 * whose `sql` is still the raw text until the connection formats it.
 */
export function mysqlQueryFacts(sql: unknown, values: unknown, prepared = false): SqlQueryFacts {
  let text: unknown;
  let params: unknown = typeof values === 'function' ? undefined : values;
  if (typeof sql === 'string') text = sql;
  else if (sql !== null && typeof sql === 'object') {
    const o = sql as { sql?: unknown; values?: unknown };
    text = o.sql;
    if (params === undefined) params = o.values;
  }
  return { text, preparation: prepared || hasParameters(params) ? 'statement' : undefined };
}

/**
 * The server version from the handshake. MariaDB prefixes it with `5.5.5-` for old replication
 * clients; the prefix is not the version.
 */
export function mysqlServerVersion(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length === 0) return undefined;
  return raw.startsWith('5.5.5-') && raw.includes('MariaDB') ? raw.slice(6) : raw;
}
