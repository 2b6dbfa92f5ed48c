'use strict';
// Per-call overhead of the AWS SDK instrumentation: one HTTP request → one DynamoDB GetItem
// (bench/apps/aws-getitem.js) against dynalite (bench/apps/dynalite.js, its own process), with and
// without the agent, for the v3 client and aws-sdk v2 (newest versions under test). The plain app
// (segment only) is measured alongside, so the AWS subsegment's own cost can be told apart from the
// traced request's:
//   per-call overhead ≈ (getitem agent − getitem no agent) − (plain agent − plain no agent)
// That figure includes what any traced request pays for the SDK's work inside it: with the agent
// on, AsyncLocalStorage's promise hooks run for every promise the SDK creates (v3 creates hundreds
// per call). So each SDK is also run with the agent but its AWS instrumentation off
// (`getitem-<sdk>-http`: AWS_XRAY_DISABLED_INSTRUMENTATIONS=aws-sdk, so the SDK's request becomes a
// plain HTTP subsegment instead); the difference is what the AWS instrumentation itself costs:
//   AWS instrumentation per call ≈ getitem agent − getitem-http agent
// Only the app's own CPU is counted. dynalite is the bottleneck, so both sides run at about the
// rate dynalite allows (closed loop by default; --rate=N caps it). The per-round ranges printed
// show the noise, which is large next to the SDK's own CPU per call. Rounds alternate agent / no
// agent.
// Needs `npm run build` first (it uses dist/test/helpers for the versions under test).
//
// --endpoint=stub replaces dynalite with bench/apps/ddb-stub.js (a canned GetItem answer): the app is
// then the bottleneck and the per-call figures have far less noise.
//
//   node bench/aws-call.js [--rounds=5] [--duration=5] [--connections=10] [--rate=0] [--sdk=v3,v2] [--endpoint=dynalite|stub]

const path = require('node:path');
const { startUdpSink } = require('./lib/udp-sink');
const { spawnApp, stopAll, killAllNow } = require('./lib/children');
const { measureRound } = require('./lib/measure');
const { median } = require('./lib/stats');
const { REPO, cleanEnv } = require('./lib/agent-env');

function option(name, fallback) {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit ? hit.split('=')[1] : fallback;
}

async function main() {
  const helpers = path.join(REPO, 'dist', 'test', 'helpers');
  const { installVersion, versionsUnderTest } = require(path.join(helpers, 'versions.js'));
  const sdks = String(option('sdk', 'v3,v2')).split(',');
  const modules = { v3: '@aws-sdk/client-dynamodb', v2: 'aws-sdk' };
  const opts = {
    rounds: Number(option('rounds', 5)),
    duration: Number(option('duration', 5)),
    warmup: Number(option('warmup', 1)),
    connections: Number(option('connections', 10)),
    pipelining: 1,
    settleMs: 250,
    rate: Number(option('rate', 0)),
  };
  const TABLE = 'bench';
  const endpoint = String(option('endpoint', 'dynalite'));
  const endpointScript = endpoint === 'stub' ? 'ddb-stub.js' : 'dynalite.js';
  const dynamo = await spawnApp({ label: endpoint, script: path.join(__dirname, 'apps', endpointScript), nodeArgs: [], env: { ...cleanEnv(process.env), TABLE } });
  const ddbUrl = `http://127.0.0.1:${dynamo.port}`;
  const apps = [{ name: 'plain', script: path.join(__dirname, 'apps', 'plain.js') }];
  const versions = {};
  for (const sdk of sdks) {
    const version = versionsUnderTest(modules[sdk]).at(-1);
    versions[sdk] = `${modules[sdk]}@${version}`;
    const env = { NODE_NO_WARNINGS: '1', SDK: sdk, XRAY_TEST_NODE_MODULES: installVersion(modules[sdk], version), DDB_ENDPOINT: ddbUrl, TABLE, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench' };
    const script = path.join(__dirname, 'apps', 'aws-getitem.js');
    apps.push({ name: `getitem-${sdk}`, script, env });
    apps.push({ name: `getitem-${sdk}-http`, script, env: { ...env, AWS_XRAY_DISABLED_INSTRUMENTATIONS: 'aws-sdk' }, agentOnly: true });
  }
  process.stderr.write(`aws-call: ${endpoint} on ${ddbUrl}; ${Object.values(versions).join(', ')}; ${opts.rounds} rounds × ${opts.duration}s\n`);
  const sink = await startUdpSink();
  const records = [];
  try {
    for (let round = 0; round < opts.rounds; round++) {
      for (const app of apps) {
        for (const agent of round % 2 === 0 ? [false, true] : [true, false]) {
          if (app.agentOnly && !agent) continue;
          const r = await measureRound({ app, agent, sink, opts });
          records.push(r);
          process.stderr.write(`aws-call: round ${round + 1} ${app.name}${agent ? '+agent' : ''}: ${r.rps.toFixed(0)} req/s, ${r.cpuPerReq.toFixed(1)} µs CPU/req, ${r.docsPerReq.toFixed(2)} docs/req, ${r.failed} failed\n`);
        }
      }
    }
  } finally {
    await stopAll();
    await sink.close();
  }
  const med = (app, agent, field) => {
    const xs = records.filter((r) => r.app === app && r.agent === agent).map((r) => r[field]);
    return xs.length > 0 ? median(xs) : NaN;
  };
  /** Per-round differences a − b of CPU per request, for the noise range. */
  const range = (a, b) => {
    const diffs = [];
    for (let round = 0; round < opts.rounds; round++) {
      const ra = records.filter((r) => r.app === a.app && r.agent === a.agent)[round];
      const rb = records.filter((r) => r.app === b.app && r.agent === b.agent)[round];
      if (ra && rb) diffs.push(ra.cpuPerReq - rb.cpuPerReq);
    }
    return diffs.length > 0 ? `${Math.min(...diffs).toFixed(1)} … ${Math.max(...diffs).toFixed(1)}` : '–';
  };
  const fmt = (v, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
  const rows = apps.map(({ name }) => {
    const off = med(name, false, 'cpuPerReq');
    const on = med(name, true, 'cpuPerReq');
    return {
      app: name,
      off,
      on,
      added: on - off,
      range: range({ app: name, agent: true }, { app: name, agent: false }),
      rpsOff: med(name, false, 'rps'),
      rpsOn: med(name, true, 'rps'),
      p99Off: med(name, false, 'p99'),
      p99On: med(name, true, 'p99'),
      bytes: med(name, true, 'bytesPerDoc'),
    };
  });
  const row = (name) => rows.find((r) => r.app === name);
  const plain = row('plain');
  const lines = [
    `# AWS SDK per-call overhead (DynamoDB GetItem on ${endpoint}; ${Object.values(versions).join(', ')}; Node ${process.version}, ${opts.rounds} rounds × ${opts.duration} s, ${opts.connections} connections, ${opts.rate > 0 ? `${opts.rate} req/s` : 'closed loop'})`,
    '',
    '| app | CPU/req no agent (µs) | CPU/req agent (µs) | added (µs) | per-round range (µs) | req/s no agent | req/s agent | p99 no agent (ms) | p99 agent (ms) | bytes/doc |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.app} | ${fmt(r.off)} | ${fmt(r.on)} | ${fmt(r.added)} | ${r.range} | ${fmt(r.rpsOff, 0)} | ${fmt(r.rpsOn, 0)} | ${fmt(r.p99Off, 2)} | ${fmt(r.p99On, 2)} | ${fmt(r.bytes, 0)} |`),
    '',
  ];
  for (const sdk of sdks) {
    const full = row(`getitem-${sdk}`);
    const http = row(`getitem-${sdk}-http`);
    lines.push(
      `- ${sdk}: the agent adds ${fmt(full.added)} µs per request with one GetItem (plain request: ${fmt(plain.added)} µs). ` +
        `With the AWS instrumentation off it adds ${fmt(http.on - full.off)} µs (segment, context propagation through the SDK's promises, an HTTP subsegment). ` +
        `The AWS instrumentation itself (aws subsegment instead of the HTTP one): ${fmt(full.on - http.on)} µs per call ` +
        `(per-round ${range({ app: full.app, agent: true }, { app: http.app, agent: true })}).`,
    );
  }
  console.log(lines.join('\n'));
}

main().catch((err) => {
  killAllNow();
  process.stderr.write(`aws-call: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
