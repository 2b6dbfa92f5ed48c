// The SQL span builder (agent/spans/sql.ts; spec §1.7, §8.4): names, `sql` fields, URLs that
// never carry credentials, query text only when enabled and cut to its budget, errors as cause +
// fault. Plus the shared pieces of instrumentations/sql-common that decide facts.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { Recorder } from '../../agent/recorder';
import { SqlSpans, buildSqlUrl, describeTarget, MAX_QUERY_LENGTH } from '../../agent/spans/sql';
import { active, run } from '../../agent/context';
import { log } from '../../agent/log';
import { inProcessRecorder } from '../helpers/in-process-recorder';
import { SqlCall, hasParameters, isServerError } from '../../instrumentations/sql-common/query-call';
import { mysqlConnectionFacts, mysqlQueryFacts, mysqlServerVersion } from '../../instrumentations/sql-common/mysql-facts';

before(() => log.setLevel('silent'));

function setup(collectSqlQueries = false) {
  const { recorder, datagrams: sent } = inProcessRecorder();
  return { recorder, spans: new SqlSpans(recorder, { collectSqlQueries }), sent };
}

const PG = { databaseType: 'PostgreSQL', scheme: 'postgresql', host: '127.0.0.1', port: 5433, database: 'app', user: 'app', driverVersion: 'pg@8.23.1' };

test('URL only with scheme, host and database; never credentials; IPv6 bracketed; sockets have none', () => {
  assert.equal(buildSqlUrl('postgresql', '127.0.0.1', 5433, 'app'), 'postgresql://127.0.0.1:5433/app');
  assert.equal(buildSqlUrl('mysql', 'db', undefined, 'app'), 'mysql://db/app');
  assert.equal(buildSqlUrl('mysql', 'db', 3306, undefined), undefined, 'no database, no URL (collectors reject the document)');
  assert.equal(buildSqlUrl(undefined, 'db', 3306, 'app'), undefined);
  assert.equal(buildSqlUrl('mysql', undefined, 3306, 'app'), undefined);
  assert.equal(buildSqlUrl('postgresql', '/var/run/postgresql', 5432, 'app'), undefined);
  assert.equal(buildSqlUrl('postgresql', 'app:s3cret-pw@db', 5432, 'app'), 'postgresql://db:5432/app');
  assert.equal(buildSqlUrl('postgresql', '::1', 5432, 'a/b'), 'postgresql://[::1]:5432/a%2Fb');
});

test('target: <database>@<host>, host alone, SQLite file basename; static fields', () => {
  const t = describeTarget(PG);
  assert.equal(t.name, 'app@127.0.0.1');
  assert.deepEqual(t.base, { url: 'postgresql://127.0.0.1:5433/app', database_type: 'PostgreSQL', driver_version: 'pg@8.23.1', user: 'app' });
  assert.equal(describeTarget({ ...PG, database: undefined }).name, '127.0.0.1');
  assert.equal(describeTarget({ ...PG, host: 'u:pw@db' }).name, 'app@db');
  assert.equal(describeTarget({ databaseType: 'SQLite', file: '/tmp/x/app.db', driverVersion: 'sqlite3@5.1.7' }).name, 'app.db');
  assert.equal(describeTarget({ databaseType: 'SQLite', file: ':memory:', driverVersion: 'sqlite3@5.1.7' }).name, ':memory:');
});

test('query text only when collectSqlQueries, cut to MAX_QUERY_LENGTH; preparation; database version; errors', () => {
  for (const collect of [false, true]) {
    const { recorder, spans } = setup(collect);
    const seg = recorder.startSegment({});
    const target = spans.target({}, () => PG);
    const long = 'SELECT ' + 'x'.repeat(MAX_QUERY_LENGTH * 2);
    const sub = spans.start(target, { text: long, preparation: 'statement' }, seg)!;
    spans.end(sub, undefined, { databaseVersion: '15.18' });
    assert.equal(sub.namespace, 'remote');
    assert.equal(sub.sql?.preparation, 'statement');
    assert.equal(sub.sql?.database_version, '15.18');
    assert.equal(sub.sql?.sanitized_query, collect ? long.slice(0, MAX_QUERY_LENGTH) : undefined);
    const failed = spans.start(target, { text: 'SELEC' }, seg)!;
    spans.end(failed, Object.assign(new Error('syntax error'), { code: '42601', severity: 'ERROR' }), { remote: true });
    assert.equal(failed.fault, true);
    assert.equal((failed.cause as { exceptions: Array<{ message: string; remote?: boolean }> }).exceptions[0].message, 'syntax error');
  }
});

test('no active entity: no subsegment; an unsampled trace: none either', () => {
  const { recorder, spans } = setup();
  const target = spans.target({}, () => PG);
  assert.equal(spans.start(target, { text: 'SELECT 1' }), undefined);
  const unsampled = new Recorder(recorder.options, { decide: () => ({ sampled: false }) }, { sendWritten: () => true, flush: () => Promise.resolve() });
  const seg = unsampled.startSegment({});
  assert.equal(new SqlSpans(unsampled, { collectSqlQueries: true }).start(target, { text: 'SELECT 1' }, seg), undefined);
});

test('SqlCall: a callback stand-in ends the call once, runs the app callback in the caller context with this and arguments', () => {
  const { recorder, spans } = setup();
  const seg = recorder.startSegment({});
  const sub = spans.start(spans.target({}, () => PG), { text: 'SELECT 1' }, seg)!;
  const call = new SqlCall(spans, sub, seg);
  let seen: unknown[] = [];
  let ranIn: unknown;
  const self = {};
  const wrapped = call.callback(function (this: unknown, ...args: unknown[]) {
    seen = [this, ...args];
    ranIn = active();
    return 'ret';
  });
  // called from "another request's" context
  const other = recorder.startSegment({});
  const ret = run(other, () => wrapped.call(self, null, 'rows', 'fields'));
  assert.equal(ret, 'ret');
  assert.deepEqual(seen, [self, null, 'rows', 'fields']);
  assert.equal(ranIn, seg, "the caller's entity, not the one current where the driver called back");
  assert.ok(sub.end_time !== undefined);
  call.end(new Error('late'));
  assert.equal(sub.fault, false, 'a second end changes nothing');
});

test('sql-common facts', () => {
  assert.equal(hasParameters(undefined), false);
  assert.equal(hasParameters([]), false);
  assert.equal(hasParameters([1]), true);
  assert.equal(hasParameters({ id: 1 }), true);
  assert.equal(hasParameters(5), true);
  assert.equal(isServerError({ sqlState: '42000' }), true);
  assert.equal(isServerError({ code: '42601', severity: 'ERROR' }), true);
  assert.equal(isServerError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), false);
  assert.deepEqual(mysqlQueryFacts('SELECT ?', [1]), { text: 'SELECT ?', preparation: 'statement' });
  assert.deepEqual(mysqlQueryFacts({ sql: 'SELECT 1' }, undefined), { text: 'SELECT 1', preparation: undefined });
  assert.deepEqual(mysqlQueryFacts({ sql: 'SELECT ?', values: [2] }, () => {}), { text: 'SELECT ?', preparation: 'statement' });
  assert.equal(mysqlServerVersion('5.5.5-10.11.6-MariaDB-0+deb12u1'), '10.11.6-MariaDB-0+deb12u1');
  assert.equal(mysqlServerVersion('8.0.36'), '8.0.36');
  const f = mysqlConnectionFacts({ host: 'db', port: 3307, database: 'app', user: 'app', ...{ password: 's3cret-pw' } } as never, 'mysql2@3.24.6');
  assert.ok(!JSON.stringify(describeTarget(f)).includes('s3cret-pw'));
  assert.equal(mysqlConnectionFacts({ socketPath: '/run/mysqld.sock', database: 'app' }, 'mysql@2.18.1').scheme, undefined);
});
