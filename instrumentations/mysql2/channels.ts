// mysql2 >= 3.20 publishes its own TracingChannels (lib/tracing.js): `mysql2:query`,
// `mysql2:execute` and `mysql2:pool:connect`. There the queries are recorded from the channels
// only (patches.ts is not applied):
//   start      (sync, in the caller's context)  → the call starts under the active entity
//   asyncStart (the callback is about to run, or the command's promise settled) → the call ends
//              with `error` if one was published
//   end        with `error` and no asyncStart to come: a synchronous throw → the call ends
// Context: mysql2 runs callbacks through `asyncStart.runStores`, so binding our store to the
// asyncStart channels makes a query callback — and a pool.getConnection callback, in which a
// queued pool.query issues its query — run in the context of the call that started it.
//
// The channel message lacks three facts: the connection's user, the server version and, for
// query(sql, values), the SQL as given (mysql2 publishes the text with the values already
// interpolated into it, which must never be recorded). A thin wrapper on Connection#query and
// #execute hands the connection and the raw text to `start` synchronously; it records nothing.

import diagnostics from 'node:diagnostics_channel';
import type { InstrumentationHost } from '../../agent/instrumentation';
import type { Entity } from '../../agent/model/entity';
import { active, bindChannelStore } from '../../agent/context';
import { wrap } from '../../agent/shim';
import { log } from '../../agent/log';
import { SqlCall, hasParameters } from '../sql-common/query-call';
import { mysqlConnectionFacts, mysqlQueryFacts } from '../sql-common/mysql-facts';
import { connectionTarget, ownerOf, serverVersion, type Mysql2Connection } from './facts';

type AnyFn = (...args: any[]) => any;

interface QueryMessage {
  query?: unknown;
  values?: unknown;
  database?: string;
  serverAddress?: string;
  serverPort?: number;
  error?: unknown;
}

interface Handoff {
  conn: Mysql2Connection;
  text: unknown;
}

/** Set by the Connection wrapper for the duration of one query()/execute() call. */
let handoff: Handoff | undefined;

const calls = new WeakMap<object, SqlCall>();
const poolCallers = new WeakMap<object, Entity | undefined>();
let subscribed = false;

/** True when this Node's TracingChannel runs callbacks through asyncStart.runStores (checked once). */
let runStoresWorks: boolean | undefined;

export function canUseChannels(): boolean {
  if (runStoresWorks !== undefined) return runStoresWorks;
  runStoresWorks = false;
  try {
    const dc = diagnostics as unknown as { tracingChannel?: (name: string) => any };
    if (typeof dc.tracingChannel !== 'function') return false;
    // A private channel: does a store bound to asyncStart reach the callback?
    const ch = dc.tracingChannel('@xray/agent:probe');
    const { AsyncLocalStorage } = require('node:async_hooks') as typeof import('node:async_hooks');
    const als = new AsyncLocalStorage<number>();
    ch.asyncStart.bindStore(als, () => 1);
    let seen: number | undefined;
    ch.traceCallback((cb: AnyFn) => cb(null), 0, {}, null, () => {
      seen = als.getStore();
    });
    ch.asyncStart.unbindStore(als);
    runStoresWorks = seen === 1;
  } catch {
    runStoresWorks = false;
  }
  return runStoresWorks;
}

export function subscribeChannels(exports: unknown, host: InstrumentationHost, driverVersion: string): void {
  const proto = (exports as { Connection?: { prototype?: object } }).Connection?.prototype;
  if (proto === undefined) throw new Error('mysql2 does not export Connection');
  wrap(ownerOf(proto, 'query'), 'query', handOff);
  wrap(ownerOf(proto, 'execute'), 'execute', handOff);
  if (subscribed) return;
  subscribed = true;
  const dc = diagnostics as unknown as { tracingChannel: (name: string) => any };
  for (const [name, prepared] of [['mysql2:query', false], ['mysql2:execute', true]] as const) {
    const ch = dc.tracingChannel(name);
    ch.subscribe({
      start: (m: QueryMessage) => onStart(m, host, driverVersion, prepared),
      end: onEnd,
      asyncStart: onAsyncStart,
    });
    bindChannelStore(ch.asyncStart, (m) => (isObject(m) && calls.has(m) ? (calls.get(m) as SqlCall).entity : null));
  }
  const pool = dc.tracingChannel('mysql2:pool:connect');
  pool.subscribe({ start: onPoolConnectStart });
  bindChannelStore(pool.asyncStart, (m) => (isObject(m) && poolCallers.has(m) ? poolCallers.get(m) : null));
}

function handOff(original: AnyFn): AnyFn {
  return function (this: Mysql2Connection, sql: unknown) {
    const prev = handoff;
    try {
      handoff = { conn: this, text: typeof sql === 'string' ? sql : isObject(sql) ? (sql as { sql?: unknown }).sql : undefined };
    } catch {
      handoff = undefined;
    }
    try {
      return Reflect.apply(original, this, arguments);
    } finally {
      handoff = prev;
    }
  };
}

function onStart(m: QueryMessage, host: InstrumentationHost, driverVersion: string, prepared: boolean): void {
  try {
    const given = handoff;
    handoff = undefined;
    const entity = active();
    const conn = given?.conn;
    const target =
      conn !== undefined
        ? connectionTarget(host.sql, conn, driverVersion)
        : host.sql.target(m, () => mysqlConnectionFacts({ host: m.serverAddress, port: m.serverPort, database: m.database || undefined }, driverVersion));
    // execute() publishes the text as given; query() the text after formatting, which equals the
    // text as given only when no values were bound.
    const text = prepared ? m.query : (given?.text ?? (hasParameters(m.values) ? undefined : m.query));
    const facts = { ...mysqlQueryFacts(text, m.values, prepared), text };
    const sub = host.sql.start(target, facts, entity);
    calls.set(m, new SqlCall(host.sql, sub, entity, conn !== undefined ? () => serverVersion(conn) : undefined));
  } catch (err) {
    log.once('mysql2.channel.start', 'error', 'mysql2 channel subscriber failed; the query runs untraced', { error: String(err) });
  }
}

function onAsyncStart(m: QueryMessage): void {
  if (isObject(m)) calls.get(m)?.end(m.error);
}

/** `end` with an error and the call still open: the query threw synchronously. */
function onEnd(m: QueryMessage): void {
  if (isObject(m) && m.error !== undefined) calls.get(m)?.end(m.error);
}

function onPoolConnectStart(m: unknown): void {
  if (isObject(m)) poolCallers.set(m, active());
}

function isObject(v: unknown): v is object {
  return v !== null && typeof v === 'object';
}
