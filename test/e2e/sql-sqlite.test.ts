// End-to-end: sqlite3 and better-sqlite3 on temporary database files, under
// `node --require/--import @xray/agent`, with the UDP test daemon. Covers the SQL fields (the
// subsegment is named after the file), query text only when enabled, errors the app sees
// unchanged, callback context under concurrency (sqlite3) and start-up queries.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startUdpDaemon, type UdpDaemon, type XrayEntity } from '../helpers/udp-daemon';
import { installVersion, versionsUnderTest } from '../helpers/versions';
import { type Loader } from '../helpers/spawn-app';
import { ALWAYS, concurrentCalls, errorIdentity, firstException, tracedCall, withApp, untracedErrors } from '../helpers/sql-e2e';

let daemon: UdpDaemon;
let dir: string;

before(async () => {
  daemon = await startUdpDaemon();
  // Installed here, not in the tests: building a native driver can take longer than a test may.
  for (const driver of ['sqlite3', 'better-sqlite3']) for (const v of versionsUnderTest(driver)) installVersion(driver, v);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-sqlite-'));
});
after(async () => {
  await daemon?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

let files = 0;
function env(driver: string, nodeModules: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SQL_DRIVER: driver,
    XRAY_TEST_NODE_MODULES: nodeModules,
    DB_FILE: path.join(dir, `app-${++files}.db`),
    AWS_XRAY_DAEMON_ADDRESS: daemon.address,
    AWS_XRAY_SAMPLING_RULES: ALWAYS,
    AWS_XRAY_TRACING_NAME: 'sql-app',
    ...extra,
  };
}

function assertSqliteSub(sub: XrayEntity, driver: string, version: string, preparation: string | undefined): void {
  assert.match(sub.name, /^app-\d+\.db$/, 'named after the database file');
  assert.equal(sub.namespace, 'remote');
  const sql = sub.sql!;
  assert.equal(sql.url, undefined, 'an embedded database has no URL');
  assert.equal(sql.database_type, 'SQLite');
  assert.equal(sql.driver_version, `${driver}@${version}`);
  assert.equal(sql.user, undefined);
  if (driver === 'sqlite3') assert.match(String(sql.database_version), /^3\.\d+\.\d+$/, 'the SQLite library version sqlite3 exports');
  assert.equal(sql.preparation, preparation);
  assert.equal(sql.sanitized_query, undefined);
  assert.equal(sub.fault, undefined);
}

const ROUTES: Record<string, Array<[string, number, string | undefined]>> = {
  sqlite3: [
    ['/query', 1, 'statement'],
    ['/plain', 1, undefined],
    ['/run', 1, 'statement'],
    ['/each', 1, undefined],
    ['/exec', 1, undefined],
  ],
  'better-sqlite3': [
    ['/query', 1, 'statement'],
    ['/plain', 1, undefined],
    ['/run', 1, 'statement'],
    ['/exec', 1, undefined],
  ],
};

for (const driver of ['sqlite3', 'better-sqlite3']) {
  for (const version of versionsUnderTest(driver)) {
    for (const [loader, script] of [
      ['require', 'sql/sqlite-app.js'],
      ['import', 'sql/sqlite-app.mjs'],
    ] as Array<[Loader, string]>) {
      test(`${driver}@${version} (${loader}): SQL subsegments under the right request; start-up queries send nothing`, async () => {
        const nodeModules = installVersion(driver, version);
        daemon.clear();
        await withApp({ script, loader, env: env(driver, nodeModules) }, async (app) => {
          assert.equal(daemon.documents.length, 0, 'the start-up queries (outside any request) sent nothing');
          for (const [p, count, preparation] of ROUTES[driver]) {
            const { res, segment, sql } = await tracedCall(daemon, app, p);
            assert.equal(res.status, 200, `${p}: ${JSON.stringify(res.body)}`);
            assert.equal(sql.length, count, p);
            for (const sub of sql) assertSqliteSub(sub, driver, version, preparation);
            assert.equal(res.body.result.trace, segment.trace_id, `${p}: callback context`);
            if (p === '/run' && driver === 'sqlite3') assert.ok(res.body.result.lastID > 0, 'the callback still gets the Statement as this');
          }
        });
      });
    }

    test(`${driver}@${version}: query text only when enabled; errors are cause + fault and reach the app unchanged`, async () => {
      const nodeModules = installVersion(driver, version);
      const paths = ['/error/syntax', '/error/constraint'];
      const untraced = await untracedErrors('sql/sqlite-app.js', env(driver, nodeModules), paths);
      daemon.clear();
      await withApp({ script: 'sql/sqlite-app.js', loader: 'require', env: env(driver, nodeModules, { AWS_XRAY_COLLECT_SQL_QUERIES: 'true' }) }, async (app) => {
        assert.deepEqual((await tracedCall(daemon, app, '/query')).sql.map((s) => s.sql?.sanitized_query), ['SELECT ? AS n']);
        for (const p of paths) {
          const { res, sql } = await tracedCall(daemon, app, p);
          assert.equal(res.status, 500);
          assert.deepEqual(errorIdentity(res.body.error), untraced.get(p), `${p}: the app gets the same error`);
          assert.equal(sql.length, 1, p);
          assert.equal(sql[0].fault, true);
          assert.equal(firstException(sql[0])?.message, res.body.error?.message);
        }
      });
    });
  }
}

for (const version of versionsUnderTest('sqlite3')) {
  test(`sqlite3@${version}: 50 concurrent requests keep every query and callback in its own request`, async () => {
    const nodeModules = installVersion('sqlite3', version);
    daemon.clear();
    await withApp({ script: 'sql/sqlite-app.js', loader: 'require', env: env('sqlite3', nodeModules) }, async (app) => {
      const results = await concurrentCalls(daemon, app, 50, (i) => `/pool?id=${i}`);
      for (const [i, r] of results.entries()) {
        assert.deepEqual(r.res.body.result.ids, [i, i + 1000]);
        assert.deepEqual(r.res.body.result.traces, [r.root, r.root]);
        assert.equal(r.sql.length, 2);
      }
    });
  });
}
