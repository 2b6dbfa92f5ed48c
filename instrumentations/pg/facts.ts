// What the pg instrumentation reads off pg's objects: where a client or pool points, what a query
// is, and the server version the connection reported. Plain facts for agent/spans/sql; no X-Ray
// knowledge here. Shared by the Client (client.ts) and pg-pool (pool.ts) patches.

import type { SqlConnectionFacts, SqlQueryFacts } from '../../agent/spans/sql';
import { hasParameters } from '../sql-common/query-call';

interface ConnectionParams {
  host?: string;
  port?: number | string;
  database?: string;
  user?: string;
}

/** Set by the pg patch: pg's own parser of client options, connection strings and PG* variables. */
let ConnectionParameters: (new (config: unknown) => ConnectionParams) | undefined;
/** `pg@<version>`, set when pg loads (a pg-pool span reports the driver underneath it). */
let pgDriver: string | undefined;

export function setPgVersion(version: string): void {
  pgDriver = `pg@${version}`;
}

export function setConnectionParameters(ctor: unknown): void {
  if (typeof ctor === 'function') ConnectionParameters = ctor as new (config: unknown) => ConnectionParams;
}

export function pgDriverVersion(fallback: string): string {
  return pgDriver ?? fallback;
}

/** A pg Client: pg already resolved its options into `connectionParameters` (password included: never read). */
export function clientFacts(client: { connectionParameters?: ConnectionParams }, driverVersion: string): SqlConnectionFacts {
  const p = client.connectionParameters ?? {};
  return { databaseType: 'PostgreSQL', scheme: 'postgresql', host: p.host, port: p.port, database: p.database, user: p.user, driverVersion };
}

/** A pg-pool Pool: its options resolved the way its clients will resolve them. */
export function poolFacts(pool: { options?: ConnectionParams }, driverVersion: string): SqlConnectionFacts {
  const options = pool.options ?? {};
  let p: ConnectionParams = options;
  if (ConnectionParameters !== undefined) {
    try {
      p = new ConnectionParameters(options);
    } catch {
      // an option pg would reject at connect time: describe the raw options instead
    }
  }
  return {
    databaseType: 'PostgreSQL',
    scheme: 'postgresql',
    host: p.host ?? 'localhost',
    port: p.port ?? 5432,
    database: p.database,
    user: p.user,
    driverVersion,
  };
}

/**
 * The query as the app gave it: text (`query(text)` or `query({ text })`) and whether it is a
 * prepared statement (values, or a `name`). Undefined for Submittables (pg-cursor,
 * pg-query-stream, `new pg.Query()`): they run their own lifecycle, which is not observed.
 */
export function queryFacts(config: unknown, values: unknown): SqlQueryFacts | undefined {
  if (typeof config === 'string') return { text: config, preparation: hasParameters(values) ? 'statement' : undefined };
  if (config === null || typeof config !== 'object') return undefined;
  const c = config as { submit?: unknown; text?: unknown; values?: unknown; name?: unknown };
  if (typeof c.submit === 'function') return undefined;
  const prepared = hasParameters(Array.isArray(values) ? values : c.values) || (typeof c.name === 'string' && c.name.length > 0);
  return { text: c.text, preparation: prepared ? 'statement' : undefined };
}

/** server_version from the ParameterStatus messages of a connection (recorded by client.ts). */
const serverVersions = new WeakMap<object, string>();

export function onParameterStatus(this: object, msg: { parameterName?: unknown; parameterValue?: unknown }): void {
  if (msg?.parameterName === 'server_version' && typeof msg.parameterValue === 'string') serverVersions.set(this, msg.parameterValue);
}

export function serverVersionOf(client: { connection?: object }): string | undefined {
  const con = client.connection;
  return con !== undefined && con !== null ? serverVersions.get(con) : undefined;
}
