'use strict';
// Per-query overhead of the SQL instrumentation: one HTTP request → one simple pg query
// (bench/apps/pg-query.js), with and without the agent, against a real PostgreSQL started for the
// run (the test helper: Debian's server on loopback, a throwaway data directory). The plain app
// (segment only) is measured alongside, so the SQL subsegment's own cost can be told apart from
// the traced request's:
//   per-query overhead ≈ (pg agent − pg no agent) − (plain agent − plain no agent)
// Rounds alternate agent / no agent. Needs `npm run build` first (it uses dist/test/helpers).
//
//   node bench/sql-query.js [--rounds=5] [--duration=5] [--connections=10]

const path = require('node:path');
const { startUdpSink } = require('./lib/udp-sink');
const { stopAll, killAllNow } = require('./lib/children');
const { measureRound } = require('./lib/measure');
const { median } = require('./lib/stats');
const { REPO } = require('./lib/agent-env');

function option(name, fallback) {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit ? Number(hit.split('=')[1]) : fallback;
}

async function main() {
  const helpers = path.join(REPO, 'dist', 'test', 'helpers');
  const { startPostgres } = require(path.join(helpers, 'databases.js'));
  const { installVersion, versionsUnderTest } = require(path.join(helpers, 'versions.js'));
  const pgVersion = versionsUnderTest('pg').at(-1);
  const nodeModules = installVersion('pg', pgVersion);
  const opts = {
    rounds: option('rounds', 5),
    duration: option('duration', 5),
    warmup: option('warmup', 1),
    connections: option('connections', 10),
    pipelining: 1,
    settleMs: 250,
    rate: 0,
  };
  process.stderr.write(`sql-query: starting PostgreSQL; pg@${pgVersion}; ${opts.rounds} rounds × ${opts.duration}s\n`);
  const db = await startPostgres();
  const sink = await startUdpSink();
  const apps = [
    { name: 'plain', script: path.join(__dirname, 'apps', 'plain.js') },
    {
      name: 'pg-query',
      script: path.join(__dirname, 'apps', 'pg-query.js'),
      env: {
        XRAY_TEST_NODE_MODULES: nodeModules,
        DB_HOST: db.host,
        DB_PORT: String(db.port),
        DB_USER: db.user,
        DB_PASSWORD: db.password,
        DB_NAME: db.database,
      },
    },
  ];
  const records = [];
  try {
    for (let round = 0; round < opts.rounds; round++) {
      for (const app of apps) {
        for (const agent of round % 2 === 0 ? [false, true] : [true, false]) {
          const r = await measureRound({ app, agent, sink, opts });
          records.push(r);
          process.stderr.write(`sql-query: round ${round + 1} ${app.name}${agent ? '+agent' : ''}: ${r.rps.toFixed(0)} req/s, ${r.cpuPerReq.toFixed(1)} µs CPU/req, ${r.docsPerReq.toFixed(2)} docs/req\n`);
        }
      }
    }
  } finally {
    await stopAll();
    await sink.close();
    await db.stop();
  }
  const med = (app, agent, field) => median(records.filter((r) => r.app === app && r.agent === agent).map((r) => r[field]));
  const rows = [];
  for (const app of ['plain', 'pg-query']) {
    const off = med(app, false, 'cpuPerReq');
    const on = med(app, true, 'cpuPerReq');
    rows.push({ app, off, on, added: on - off, rpsOff: med(app, false, 'rps'), rpsOn: med(app, true, 'rps'), p99Off: med(app, false, 'p99'), p99On: med(app, true, 'p99') });
  }
  const perQuery = rows[1].added - rows[0].added;
  const lines = [
    `# SQL per-query overhead (pg@${pgVersion}, Node ${process.version}, ${opts.rounds} rounds × ${opts.duration} s, ${opts.connections} connections)`,
    '',
    '| app | CPU/req no agent (µs) | CPU/req agent (µs) | added (µs) | req/s no agent | req/s agent | p99 no agent (ms) | p99 agent (ms) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.app} | ${r.off.toFixed(1)} | ${r.on.toFixed(1)} | ${r.added.toFixed(1)} | ${r.rpsOff.toFixed(0)} | ${r.rpsOn.toFixed(0)} | ${r.p99Off.toFixed(2)} | ${r.p99On.toFixed(2)} |`),
    '',
    `Per query (the SQL subsegment alone, pg-query added − plain added): ${perQuery.toFixed(1)} µs CPU`,
  ];
  console.log(lines.join('\n'));
}

main().catch((err) => {
  killAllNow();
  process.stderr.write(`sql-query: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
