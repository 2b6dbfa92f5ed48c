// End-to-end: pg (Client, Pool, pg-pool) against a real PostgreSQL (Debian package, started on
// loopback for this file), under `node --require/--import @xray/agent`, with the UDP test daemon.
// Covers the SQL fields, that the password never leaves the app, query text only when enabled,
// errors the app sees unchanged (syntax, connection refused, query timeout), context through the
// pool under concurrency, and start-up queries.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startUdpDaemon, type UdpDaemon, type XrayEntity } from '../helpers/udp-daemon';
import { startPostgres, closedPort, type DatabaseServer } from '../helpers/databases';
import { installVersion, versionsUnderTest } from '../helpers/versions';
import { spawnApp, type Loader } from '../helpers/spawn-app';
import { ALWAYS, assertNoPassword, call, concurrentCalls, errorIdentity, firstException, tracedCall, withApp, untracedErrors } from '../helpers/sql-e2e';

let db: DatabaseServer;
let daemon: UdpDaemon;
let refusedPort: number;

before(async () => {
  [db, daemon, refusedPort] = await Promise.all([startPostgres(), startUdpDaemon(), closedPort()]);
  // Installed here, not in the tests: building a native driver can take longer than a test may.
  for (const driver of ['pg', 'pg-pool']) for (const v of versionsUnderTest(driver)) installVersion(driver, v);
});
after(async () => {
  await daemon?.close();
  await db?.stop();
});

function env(nodeModules: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
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

function assertPgSub(sub: XrayEntity, pgVersion: string, preparation: string | undefined): void {
  assert.equal(sub.name, `app@${db.host}`);
  assert.equal(sub.namespace, 'remote');
  const sql = sub.sql!;
  assert.equal(sql.url, `postgresql://${db.host}:${db.port}/app`);
  assert.equal(sql.database_type, 'PostgreSQL');
  assert.equal(sql.driver_version, `pg@${pgVersion}`);
  assert.equal(sql.user, 'app');
  assert.match(String(sql.database_version), /^\d+\.\d+/, 'server_version from the connection');
  assert.equal(sql.preparation, preparation);
  assert.equal(sql.sanitized_query, undefined, 'no query text unless AWS_XRAY_COLLECT_SQL_QUERIES=true');
  assert.equal(sub.fault, undefined);
}

const ROUTES: Array<[string, Array<string | undefined>]> = [
  ['/query', ['statement']],
  ['/plain', [undefined]],
  ['/promise', ['statement', undefined]],
  ['/named', ['statement']],
  ['/config-callback', [undefined]],
  ['/pool-connect', [undefined]],
];

for (const version of versionsUnderTest('pg')) {
  for (const [loader, script] of [
    ['require', 'sql/pg-app.js'],
    ['import', 'sql/pg-app.mjs'],
  ] as Array<[Loader, string]>) {
    test(`pg@${version} (${loader}): SQL subsegments with every field, under the right request, no password`, async () => {
      const nodeModules = installVersion('pg', version);
      daemon.clear();
      await withApp({ script, loader, env: env(nodeModules) }, async (app) => {
        for (const [path, preparations] of ROUTES) {
          const { res, segment, sql } = await tracedCall(daemon, app, path);
          assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
          assert.equal(sql.length, preparations.length, `${path}: each query recorded once`);
          sql.forEach((sub, i) => assertPgSub(sub, version, preparations[i]));
          assert.equal(res.body.result.trace, segment.trace_id, `${path}: callback context`);
          if (path === '/pool-connect') assert.equal(res.body.result.callbackTrace, segment.trace_id);
          if (path === '/config-callback') assert.equal(res.body.result.same, true, "the config object still holds the app's callback");
        }
      });
      assertNoPassword(daemon, db.password);
    });
  }

  test(`pg@${version}: query text only with AWS_XRAY_COLLECT_SQL_QUERIES=true, never the values`, async () => {
    const nodeModules = installVersion('pg', version);
    daemon.clear();
    await withApp({ script: 'sql/pg-app.js', loader: 'require', env: env(nodeModules, { AWS_XRAY_COLLECT_SQL_QUERIES: 'true' }) }, async (app) => {
      assert.deepEqual((await tracedCall(daemon, app, '/query')).sql.map((s) => s.sql?.sanitized_query), ['SELECT $1::int AS n']);
      assert.deepEqual((await tracedCall(daemon, app, '/promise')).sql.map((s) => s.sql?.sanitized_query), ['SELECT $1::int AS n', 'SELECT 3 AS three']);
      assert.deepEqual((await tracedCall(daemon, app, '/pool?id=5')).sql.map((s) => s.sql?.sanitized_query), [
        'SELECT $1::int AS id, pg_sleep(0.005)',
        'SELECT $1::int + 1000 AS id',
      ]);
    });
    assertNoPassword(daemon, db.password);
  });

  test(`pg@${version}: errors (syntax, connection refused, timeout) are cause + fault and reach the app unchanged`, async () => {
    const nodeModules = installVersion('pg', version);
    const paths = ['/error/syntax', '/error/refused', '/error/timeout'];
    const untraced = await untracedErrors('sql/pg-app.js', env(nodeModules), paths);
    daemon.clear();
    await withApp({ script: 'sql/pg-app.js', loader: 'require', env: env(nodeModules) }, async (app) => {
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

  test(`pg@${version}: the stack of a failed awaited query reaches the app's frame, as without the agent`, async () => {
    const nodeModules = installVersion('pg', version);
    // The fixture imports @xray/agent, and an import starts the agent: off, explicitly.
    const plain = await spawnApp({ script: 'sql/pg-app.js', loader: 'none', env: { ...env(nodeModules), AWS_XRAY_SDK_ENABLED: 'false' } });
    let untraced: unknown;
    try {
      untraced = (await call(plain, '/error/stack')).body;
    } finally {
      await plain.stop();
    }
    await withApp({ script: 'sql/pg-app.js', loader: 'require', env: env(nodeModules) }, async (app) => {
      const { res, sql } = await tracedCall(daemon, app, '/error/stack');
      assert.equal(sql.length, 2, 'both queries traced');
      assert.deepEqual(res.body, untraced);
      if (version === versionsUnderTest('pg').at(-1)) assert.deepEqual(res.body, { ok: true, result: { reachesApp: [true, true] } }, 'the newest pg keeps the app frame (it recaptures the stack on rejection)');
    });
  });

  test(`pg@${version}: 50 concurrent requests through a pool of 2 keep every query in its own request`, async () => {
    const nodeModules = installVersion('pg', version);
    daemon.clear();
    await withApp({ script: 'sql/pg-app.js', loader: 'require', env: env(nodeModules) }, async (app) => {
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

for (const version of versionsUnderTest('pg-pool')) {
  test(`pg-pool@${version} used directly: pool queries recorded once, in the right request`, async () => {
    const nodeModules = installVersion('pg-pool', version);
    daemon.clear();
    await withApp({ script: 'sql/pg-app.js', loader: 'require', env: env(nodeModules, { PG_POOL: 'pg-pool' }) }, async (app) => {
      for (const path of ['/plain', '/pool-connect']) {
        const { res, segment, sql } = await tracedCall(daemon, app, path);
        assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
        assert.equal(sql.length, 1, path);
        assert.equal(res.body.result.trace, segment.trace_id);
      }
      const results = await concurrentCalls(daemon, app, 50, (i) => `/pool?id=${i}`);
      for (const r of results) {
        assert.deepEqual(r.res.body.result.traces, [r.root, r.root]);
        assert.equal(r.sql.length, 2);
      }
    });
    assertNoPassword(daemon, db.password);
  });
}

test('pg: a query at start-up, outside any request: no document, no crash', async () => {
  const nodeModules = installVersion('pg', versionsUnderTest('pg').at(-1)!);
  daemon.clear();
  const app = await spawnApp({ script: 'sql/pg-app.js', loader: 'require', env: env(nodeModules, { AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR' }) });
  try {
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(daemon.documents.length, 0, 'nothing is sent for the start-up query');
    assert.match(app.stderr, /no active segment for SQL query on app@127\.0\.0\.1/);
    assert.equal((await tracedCall(daemon, app, '/query')).res.status, 200);
  } finally {
    await app.stop();
  }
});
