// better-sqlite3: synchronous. Statement#run / #get / #all (what every query, transaction and
// pragma goes through) and Database#exec. The Statement class is native and not exported: its
// prototype is patched once, from the first statement Database#prepare returns. A throw stays a
// throw (the same error object); the subsegment covers exactly the synchronous call.
// Statement#iterate is lazy (rows are read as the app iterates) and is not traced.

import type { ModuleInstrumentation } from '../../agent/hooks/definition';
import type { InstrumentationHost } from '../../agent/instrumentation';
import type { Subsegment } from '../../agent/model/entity';
import type { SqlTarget } from '../../agent/spans/sql';
import { wrap } from '../../agent/shim';
import { log } from '../../agent/log';
import { isServerError } from '../sql-common/query-call';
import { sqliteFacts } from '../sql-common/sqlite-facts';

type AnyFn = (...args: any[]) => any;

interface Db {
  name?: unknown;
}

/** Statement prototypes already patched (one per loaded copy of the native addon). */
const patchedStatements = new WeakSet<object>();

function patchDatabase(Database: unknown, host: InstrumentationHost, driverVersion: string): void {
  const proto = (Database as { prototype?: object } | undefined)?.prototype;
  if (proto === undefined) throw new Error('better-sqlite3 does not export Database');
  const targetOf = (db: Db): SqlTarget => host.sql.target(db, () => sqliteFacts(db.name, driverVersion));
  wrap(proto, 'exec', (original) =>
    function exec(this: Db, sql: unknown) {
      return traced(host, () => targetOf(this), sql, false, original, this, arguments);
    },
  );
  wrap(proto, 'prepare', (original) =>
    function prepare(this: unknown) {
      const stmt = Reflect.apply(original, this, arguments);
      const proto = stmt !== null && typeof stmt === 'object' ? (Object.getPrototypeOf(stmt) as object | null) : null;
      if (proto !== null && !patchedStatements.has(proto)) {
        patchedStatements.add(proto);
        try {
          patchStatement(proto, host, targetOf);
        } catch (err) {
          log.once('better-sqlite3.statement', 'error', 'better-sqlite3 statements could not be instrumented; they run untraced', { error: String(err) });
        }
      }
      return stmt;
    },
  );
}

function patchStatement(proto: object, host: InstrumentationHost, targetOf: (db: Db) => SqlTarget): void {
  for (const name of ['run', 'get', 'all']) {
    wrap(proto, name, (original) =>
      function (this: { database?: Db; source?: unknown }) {
        const db = this.database;
        if (db === undefined) return Reflect.apply(original, this, arguments);
        return traced(host, () => targetOf(db), this.source, arguments.length > 0, original, this, arguments);
      },
    );
  }
}

function traced(host: InstrumentationHost, target: () => SqlTarget, text: unknown, prepared: boolean, original: AnyFn, self: unknown, args: ArrayLike<unknown>): unknown {
  let sub: Subsegment | undefined;
  try {
    sub = host.sql.start(target(), { text, preparation: prepared ? 'statement' : undefined });
  } catch (err) {
    log.once('better-sqlite3.query', 'error', 'better-sqlite3 instrumentation failed on a query; it runs untraced', { error: String(err) });
  }
  if (sub === undefined) return Reflect.apply(original, self, args);
  let result: unknown;
  try {
    result = Reflect.apply(original, self, args);
  } catch (err) {
    end(host, sub, err);
    throw err;
  }
  end(host, sub, undefined);
  return result;
}

function end(host: InstrumentationHost, sub: Subsegment, err: unknown): void {
  try {
    host.sql.end(sub, err, { remote: isServerError(err) });
  } catch (e) {
    log.once('better-sqlite3.end', 'error', 'better-sqlite3 instrumentation failed to end a subsegment', { error: String(e) });
  }
}

export const betterSqlite3: ModuleInstrumentation = {
  name: 'better-sqlite3',
  module: 'better-sqlite3',
  versions: ['>=9.0.0 <13'],
  files: [{ file: 'lib/database.js', patch: (exports, ctx) => patchDatabase(exports, ctx.host, `better-sqlite3@${ctx.version}`) }],
};
