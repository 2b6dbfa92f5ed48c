'use strict';
// CPU per AWS SDK call, measured inside one process with little noise: bench/apps/aws-calls-loop.js
// makes sequential DynamoDB GetItem calls to a canned endpoint (bench/apps/ddb-stub.js) and reports
// its own CPU per call. Three variants per SDK, each in fresh processes, alternating, medians:
//   none       no agent
//   no-aws     the agent, a segment per call, AWS instrumentation off (the SDK's request is then
//              an HTTP subsegment): what any traced code pays around the SDK (context propagation
//              through its promises and callbacks, the segment, one subsegment)
//   aws        the agent with the AWS instrumentation: one `aws` subsegment per call
// `aws − no-aws` is what the AWS instrumentation itself costs per call. Complements aws-call.js
// (an HTTP service under load, against dynalite), whose figures carry far more noise. Needs
// `npm run build` (dist/test/helpers for the versions under test).
//
//   node bench/aws-span-cost.js [--runs=5] [--calls=5000] [--sdk=v3,v2]

const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { spawnApp, stopAll, killAllNow } = require('./lib/children');
const { median } = require('./lib/stats');
const { REPO, REGISTER, SAMPLE_ALL, cleanEnv } = require('./lib/agent-env');
const { startUdpSink } = require('./lib/udp-sink');

function option(name, fallback) {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit ? hit.split('=')[1] : fallback;
}

async function main() {
  const { installVersion, versionsUnderTest } = require(path.join(REPO, 'dist', 'test', 'helpers', 'versions.js'));
  const runs = Number(option('runs', 5));
  const calls = Number(option('calls', 5000));
  const sdks = String(option('sdk', 'v3,v2')).split(',');
  const modules = { v3: '@aws-sdk/client-dynamodb', v2: 'aws-sdk' };
  const stub = await spawnApp({ label: 'stub', script: path.join(__dirname, 'apps', 'ddb-stub.js'), nodeArgs: [], env: cleanEnv(process.env) });
  const sink = await startUdpSink();
  const results = [];
  try {
    for (const sdk of sdks) {
      const version = versionsUnderTest(modules[sdk]).at(-1);
      const base = {
        ...cleanEnv(process.env),
        NODE_NO_WARNINGS: '1',
        SDK: sdk,
        CALLS: String(calls),
        XRAY_TEST_NODE_MODULES: installVersion(modules[sdk], version),
        DDB_ENDPOINT: `http://127.0.0.1:${stub.port}`,
        AWS_ACCESS_KEY_ID: 'bench',
        AWS_SECRET_ACCESS_KEY: 'bench',
      };
      const agentEnv = { AWS_XRAY_SAMPLING_RULES: SAMPLE_ALL, AWS_XRAY_DAEMON_ADDRESS: sink.address, AWS_XRAY_CENTRALIZED_SAMPLING: 'false' };
      const variants = {
        none: { args: [], env: base },
        'no-aws': { args: ['--require', REGISTER], env: { ...base, ...agentEnv, AWS_XRAY_DISABLED_INSTRUMENTATIONS: 'aws-sdk' } },
        aws: { args: ['--require', REGISTER], env: { ...base, ...agentEnv } },
      };
      const names = Object.keys(variants);
      for (let run = 0; run < runs; run++) {
        for (const name of run % 2 === 0 ? names : [...names].reverse()) {
          const v = variants[name];
          const out = execFileSync(process.execPath, [...v.args, path.join(__dirname, 'apps', 'aws-calls-loop.js')], { env: v.env, encoding: 'utf8', timeout: 300_000 });
          const r = JSON.parse(out.trim().split('\n').pop());
          results.push({ sdk, version, run, variant: name, ...r });
          process.stderr.write(`aws-span-cost: ${sdk} run ${run + 1} ${name}: ${r.cpuPerCall.toFixed(1)} µs CPU/call, ${r.wallPerCall.toFixed(1)} µs wall/call\n`);
        }
      }
    }
  } finally {
    await stopAll();
    await sink.close();
  }
  const lines = [
    `# CPU per AWS SDK call (DynamoDB GetItem, canned endpoint, ${calls} sequential calls per run, ${runs} runs, Node ${process.version})`,
    '',
    '| SDK | no agent (µs) | agent, AWS instrumentation off (µs) | agent (µs) | AWS instrumentation itself (µs) | per-run range (µs) |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const sdk of sdks) {
    const of = (variant) => results.filter((r) => r.sdk === sdk && r.variant === variant);
    const med = (variant) => median(of(variant).map((r) => r.cpuPerCall));
    const diffs = of('aws').map((r, i) => r.cpuPerCall - of('no-aws')[i].cpuPerCall);
    const version = of('aws')[0].version;
    lines.push(
      `| ${modules[sdk]}@${version} | ${med('none').toFixed(1)} | ${med('no-aws').toFixed(1)} | ${med('aws').toFixed(1)} | ${(med('aws') - med('no-aws')).toFixed(1)} | ${Math.min(...diffs).toFixed(1)} … ${Math.max(...diffs).toFixed(1)} |`,
    );
  }
  console.log(lines.join('\n'));
}

main().catch((err) => {
  killAllNow();
  process.stderr.write(`aws-span-cost: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
