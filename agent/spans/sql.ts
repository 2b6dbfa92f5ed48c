// Builds the subsegment of one SQL query (spec §8.4, §1.7). Shared by every database driver
// instrumentation (mysql, mysql2, pg, sqlite3, better-sqlite3), which only extract plain facts —
// where the connection points, what the query text is — and call these methods. Everything X-Ray
// specific lives here once: the `<database>@<host>` name, the `sql` fields, the URL that never
// carries credentials, when query text may be recorded and how long it may be.

import * as path from 'node:path';
import type { Recorder } from '../recorder';
import type { Entity, Subsegment } from '../model/entity';
import { active } from '../context';

/** Longest `sql.sanitized_query` kept: one query must never crowd the rest out of a document. */
export const MAX_QUERY_LENGTH = 4096;
const MAX_FIELD_LENGTH = 250;

export type SqlPreparation = 'statement' | 'call';

/** Where a connection points, as the driver knows it. Never pass a password here. */
export interface SqlConnectionFacts {
  /** Engine name for `sql.database_type`: `MySQL`, `PostgreSQL`, `SQLite`. */
  databaseType: string;
  /** URL scheme for `sql.url` (`mysql`, `postgresql`); no scheme, no URL. */
  scheme?: string;
  host?: string;
  port?: number | string;
  database?: string;
  user?: string;
  /** Embedded databases (SQLite): the database file, or `:memory:`; names the subsegment. */
  file?: string;
  /** `<npm package>@<version>` of the driver, for `sql.driver_version`. */
  driverVersion: string;
}

/** The per-connection part of every query's subsegment, computed once per connection. */
export interface SqlTarget {
  readonly name: string;
  readonly base: Readonly<Record<string, string>>;
}

export interface SqlQueryFacts {
  /** The query text as the app gave it, with placeholders (never with values interpolated). */
  text?: unknown;
  preparation?: SqlPreparation;
}

export interface SqlEndFacts {
  /** True when the database server itself returned the error (it carries an SQLSTATE). */
  remote?: boolean;
  /** The server version the connection reported (handshake, parameter status), if it did. */
  databaseVersion?: string;
}

export interface SqlSpanOptions {
  collectSqlQueries: boolean;
}

export class SqlSpans {
  private readonly targets = new WeakMap<object, SqlTarget>();

  constructor(
    private readonly recorder: Recorder,
    private readonly options: SqlSpanOptions,
  ) {}

  /** The target for a connection, described once per `key` (the driver's config object). */
  target(key: object, facts: () => SqlConnectionFacts): SqlTarget {
    let t = this.targets.get(key);
    if (t === undefined) {
      t = describeTarget(facts());
      this.targets.set(key, t);
    }
    return t;
  }

  /**
   * Starts the subsegment of one query under `parent` (default: the active entity). Undefined when
   * there is no active entity (contextMissing decides the log), the trace is unsampled or full.
   */
  start(target: SqlTarget, query: SqlQueryFacts, parent: Entity | undefined = active()): Subsegment | undefined {
    if (parent === undefined) {
      this.recorder.missingContext(`SQL query on ${target.name}`, false);
      return undefined;
    }
    const sub = this.recorder.startSubsegment(target.name, parent);
    if (sub === undefined) return undefined;
    sub.namespace = 'remote';
    const sql: Record<string, string> = { ...target.base };
    if (query.preparation !== undefined) sql.preparation = query.preparation;
    if (this.options.collectSqlQueries && typeof query.text === 'string' && query.text.length > 0) {
      sql.sanitized_query = query.text.length > MAX_QUERY_LENGTH ? query.text.slice(0, MAX_QUERY_LENGTH) : query.text;
    }
    sub.sql = sql;
    return sub;
  }

  /** Ends the query's subsegment; an error becomes `cause` + `fault` (spec §1.10 rule 4). */
  end(sub: Subsegment, err?: unknown, facts?: SqlEndFacts): void {
    const version = facts?.databaseVersion;
    if (typeof version === 'string' && version.length > 0 && sub.sql !== undefined) {
      sub.sql.database_version = version.slice(0, MAX_FIELD_LENGTH);
    }
    if (err !== undefined && err !== null) sub.addError(err, facts?.remote === true);
    sub.close();
  }
}

/** Name and static `sql` fields of a connection (spec §8.4 agent rule). */
export function describeTarget(f: SqlConnectionFacts): SqlTarget {
  const base: Record<string, string> = {};
  const url = buildSqlUrl(f.scheme, f.host, f.port, f.database);
  if (url !== undefined) base.url = url;
  base.database_type = f.databaseType;
  base.driver_version = f.driverVersion;
  if (typeof f.user === 'string' && f.user.length > 0) base.user = f.user.slice(0, MAX_FIELD_LENGTH);
  return { name: targetName(f), base };
}

function targetName(f: SqlConnectionFacts): string {
  if (f.file !== undefined) return f.file === '' || f.file === ':memory:' ? ':memory:' : path.basename(f.file);
  const host = bareHost(f.host) ?? 'localhost';
  return typeof f.database === 'string' && f.database.length > 0 ? `${f.database}@${host}` : host;
}

/**
 * `scheme://host[:port]/database` (spec §1.7): only when scheme, host and database are all known
 * (a URL without a database path makes collectors reject the whole document), never with
 * credentials, and not for unix-socket hosts (a path is not a host).
 */
export function buildSqlUrl(scheme: string | undefined, host: string | undefined, port: number | string | undefined, database: string | undefined): string | undefined {
  const bare = bareHost(host);
  if (!scheme || !bare || !database || bare.startsWith('/')) return undefined;
  const hostPart = bare.includes(':') && !bare.startsWith('[') ? `[${bare}]` : bare;
  const portPart = port !== undefined && port !== null && String(port) !== '' ? `:${String(port)}` : '';
  return `${scheme}://${hostPart}${portPart}/${encodeURIComponent(database)}`;
}

/** The host without any `user:password@` a hand-written config may carry: that is never written. */
function bareHost(host: string | undefined): string | undefined {
  if (typeof host !== 'string' || host.length === 0) return undefined;
  const at = host.lastIndexOf('@');
  return at === -1 ? host : host.slice(at + 1) || undefined;
}
