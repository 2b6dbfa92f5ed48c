// End-to-end: mysql and mysql2 against a real MariaDB (Debian package, started on loopback for
// this file), under `node --require/--import @xray/agent`, with the UDP test daemon. Covers the
// SQL fields, that the password never leaves the app, query text only when enabled, errors the app
// sees unchanged, context through pools under concurrency, start-up queries, and that mysql2's own
// TracingChannels (>= 3.20) are used instead of the patches, recording each query once.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startUdpDaemon, type UdpDaemon, type XrayEntity } from '../helpers/udp-daemon';
import { startMariaDb, closedPort, type DatabaseServer } from '../helpers/databases';
import { installVersion, versionsUnderTest } from '../helpers/versions';
import { spawnApp, type Loader } from '../helpers/spawn-app';
import { ALWAYS, assertNoPassword, call, concurrentCalls, errorIdentity, firstException, tracedCall, withApp, untracedErrors } from '../helpers/sql-e2e';

let db: DatabaseServer;
let daemon: UdpDaemon;
let refusedPort: number;

before(async () => {
  [db, daemon, refusedPort] = await Promise.all([startMariaDb(), startUdpDaemon(), closedPort()]);
  // Installed here, not in the tests: building a native driver can take longer than a test may.
  for (const driver of ['mysql', 'mysql2']) for (const v of versionsUnderTest(driver)) installVersion(driver, v);
});
after(async () => {
  await daemon?.close();
  await db?.stop();
});

function env(driver: string, nodeModules: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SQL_DRIVER: driver,
    XRAY_TEST_NODE_MODULES: nodeModules,
    DB_HOST: db.host,
    DB_PORT: String(db.port),
    DB_USER: db.user,
    DB_PASSWORD: db.password,
    DB_NAME: db.database,
    CLOSED_PORT: String(refusedPort),
    AWS_XRAY_DAEMON_ADDRESS: daemon.address,
    AWS_XRAY_SAMPLING_RULES: ALWAYS,
    AWS_XRAY_TRACING_NAME: 'sql-app',
    ...extra,
  };
}

function assertMysqlSub(sub: XrayEntity, driver: string, version: string, prepared: boolean, where = ''): void {
  assert.equal(sub.name, `app@${db.host}`);
  assert.equal(sub.namespace, 'remote');
  const sql = sub.sql!;
  assert.equal(sql.url, `mysql://${db.host}:${db.port}/app`);
  assert.equal(sql.database_type, 'MySQL');
  assert.equal(sql.driver_version, `${driver}@${version}`);
  assert.equal(sql.user, 'app');
  assert.match(String(sql.database_version), /^10\.\d+\.\d+-MariaDB/, `${where}: the server version from the handshake, without the 5.5.5- prefix`);
  assert.equal(sql.preparation, prepared ? 'statement' : undefined);
  assert.equal(sql.sanitized_query, undefined, 'no query text unless AWS_XRAY_COLLECT_SQL_QUERIES=true');
  assert.equal(sub.fault, undefined);
  assert.ok(typeof sub.end_time === 'number' && sub.end_time >= sub.start_time);
}

const channelVersion = (driver: string, version: string): boolean => driver === 'mysql2' && Number(version.split('.')[0]) >= 3 && Number(version.split('.')[1]) >= 20;

for (const driver of ['mysql', 'mysql2']) {
  for (const version of versionsUnderTest(driver)) {
    for (const [loader, script] of [
      ['require', 'sql/mysql-app.js'],
      ['import', 'sql/mysql-app.mjs'],
    ] as Array<[Loader, string]>) {
      test(`${driver}@${version} (${loader}): SQL subsegments with every field, under the right request, no password`, async () => {
        const nodeModules = installVersion(driver, version);
        daemon.clear();
        await withApp({ script, loader, env: env(driver, nodeModules) }, async (app) => {
          const routes: Array<[string, number, boolean]> = [
            ['/query', 1, true],
            ['/plain', 1, false],
            ['/pool-connection', 1, false],
            ['/cluster', 1, true],
            ['/events', 1, false],
          ];
          if (driver === 'mysql2') routes.push(['/execute', 1, true], ['/promise', 2, true]);
          for (const [path, count, prepared] of routes) {
            const { res, segment, sql } = await tracedCall(daemon, app, path);
            assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
            assert.equal(sql.length, count, `${path}: exactly ${count} SQL subsegment(s), each query recorded once`);
            for (const sub of sql) assertMysqlSub(sub, driver, version, prepared, path);
            // the app's callbacks ran in the request's own trace (event listeners too, except
            // with mysql2's channels, which restore the context of callbacks only)
            const trace = res.body.result?.trace;
            if (!(path === '/events' && channelVersion(driver, version))) assert.equal(trace, segment.trace_id, `${path}: callback context`);
            if (path === '/pool-connection') assert.equal(res.body.result.callbackTrace, segment.trace_id);
          }
          const channels = await call(app, '/channels');
          assert.equal(channels.body.result.query, channelVersion(driver, version), 'mysql2 >= 3.20: its TracingChannels are used');
        });
        assertNoPassword(daemon, db.password);
      });
    }

    test(`${driver}@${version}: query text only with AWS_XRAY_COLLECT_SQL_QUERIES=true, never the values`, async () => {
      const nodeModules = installVersion(driver, version);
      daemon.clear();
      await withApp({ script: 'sql/mysql-app.js', loader: 'require', env: env(driver, nodeModules, { AWS_XRAY_COLLECT_SQL_QUERIES: 'true' }) }, async (app) => {
        const q = await tracedCall(daemon, app, '/query');
        assert.deepEqual(q.sql.map((s) => s.sql?.sanitized_query), ['SELECT ? AS n']);
        const p = await tracedCall(daemon, app, '/plain');
        assert.deepEqual(p.sql.map((s) => s.sql?.sanitized_query), ['SELECT 1 AS one']);
        const pool = await tracedCall(daemon, app, '/pool?id=77');
        assert.deepEqual(pool.sql.map((s) => s.sql?.sanitized_query), ['SELECT ? AS id, SLEEP(0.005) AS s', 'SELECT ? + 1000 AS id']);
        if (driver === 'mysql2') {
          const e = await tracedCall(daemon, app, '/execute');
          assert.deepEqual(e.sql.map((s) => s.sql?.sanitized_query), ['SELECT ? AS n']);
        }
      });
      assertNoPassword(daemon, db.password);
    });

    test(`${driver}@${version}: errors are recorded as cause + fault and reach the app unchanged`, async () => {
      const nodeModules = installVersion(driver, version);
      const paths = ['/error/syntax', '/error/refused', ...(driver === 'mysql2' ? ['/error/execute'] : [])];
      // What the app sees without the agent.
      const untraced = await untracedErrors('sql/mysql-app.js', env(driver, nodeModules), paths);
      daemon.clear();
      await withApp({ script: 'sql/mysql-app.js', loader: 'require', env: env(driver, nodeModules) }, async (app) => {
        for (const p of paths) {
          const { res, sql } = await tracedCall(daemon, app, p);
          assert.equal(res.status, 500);
          assert.deepEqual(errorIdentity(res.body.error), untraced.get(p), `${p}: the app gets the same error`);
          assert.equal(sql.length, 1, p);
          assert.equal(sql[0].fault, true, `${p}: fault`);
          assert.equal(firstException(sql[0])?.message, res.body.error?.message, `${p}: cause`);
        }
      });
      assertNoPassword(daemon, db.password);
    });

    test(`${driver}@${version}: 50 concurrent requests through a pool of 2 keep every query in its own request`, async () => {
      const nodeModules = installVersion(driver, version);
      daemon.clear();
      await withApp({ script: 'sql/mysql-app.js', loader: 'require', env: env(driver, nodeModules) }, async (app) => {
        const results = await concurrentCalls(daemon, app, 50, (i) => `/pool?id=${i}`);
        for (const [i, r] of results.entries()) {
          assert.equal(r.res.status, 200);
          assert.deepEqual(r.res.body.result.ids, [i, i + 1000], 'the app got its own rows');
          assert.deepEqual(r.res.body.result.traces, [r.root, r.root], 'both callbacks ran in the request that issued the query');
          assert.equal(r.sql.length, 2, `request ${i}: its two queries, no one else's`);
        }
      });
    });
  }
}

test('a query at start-up, outside any request: no document, no crash; LOG_ERROR says so', async () => {
  const version = versionsUnderTest('mysql2').at(-1)!;
  const nodeModules = installVersion('mysql2', version);
  for (const missing of ['IGNORE_ERROR', 'LOG_ERROR']) {
    daemon.clear();
    const app = await spawnApp({ script: 'sql/mysql-app.js', loader: 'require', env: env('mysql2', nodeModules, { AWS_XRAY_CONTEXT_MISSING: missing }) });
    try {
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(daemon.documents.length, 0, 'nothing is sent for the start-up query');
      const { res } = await tracedCall(daemon, app, '/query');
      assert.equal(res.status, 200, 'the app still works');
      if (missing === 'LOG_ERROR') assert.match(app.stderr, /no active segment for SQL query on app@127\.0\.0\.1/);
      else assert.doesNotMatch(app.stderr, /no active segment/);
    } finally {
      await app.stop();
    }
  }
});
