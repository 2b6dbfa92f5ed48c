'use strict';
// Entry of `npm run bench`: agent overhead on two apps (plain, one downstream call) and start-up
// cost, agent and no-agent rounds interleaved; prints a markdown report and writes bench/RESULTS.md.
//
//   node bench/run.js            full run (~5–8 min)
//   node bench/run.js --quick    smoke test (~20 s)
//   node bench/run.js --help     every option
//
// Everything listens on 127.0.0.1; every child process is stopped at the end, even on error.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const { parseOptions, usage } = require('./lib/options');
const { startUdpSink } = require('./lib/udp-sink');
const { stopAll, killAllNow } = require('./lib/children');
const { APPS, prepareApps } = require('./lib/apps');
const { measurePair } = require('./lib/measure-pair');
const { measureStartup } = require('./startup');
const { measureSteadyMemory } = require('./lib/steady-memory');
const { renderReport } = require('./lib/report');
const { REGISTER, setRegister, registerPath } = require('./lib/agent-env');
const procfs = require('./lib/procfs');

function progress(msg) {
  process.stderr.write(`bench: ${msg}\n`);
}

function loadAverage() {
  return os.loadavg()[0].toFixed(2);
}

/** The commit of the agent measured (and whether its sources differ from it). */
function commitOf(dir) {
  const git = (args) => execFileSync('git', args, { cwd: dir, encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const top = git(['rev-parse', '--show-toplevel']);
    if (fs.realpathSync(top) !== fs.realpathSync(dir)) throw new Error('not the agent root');
    const head = git(['rev-parse', '--short', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--', 'agent', 'instrumentations', 'register.js']);
    return `commit ${head}${dirty ? ' + uncommitted changes' : ''}`;
  } catch {
    return 'a build outside a git checkout (commit unknown)';
  }
}

function agentVersion(dir) {
  try {
    return `@xray/agent ${JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version}`;
  } catch {
    return '@xray/agent';
  }
}

/** Round plan: each round measures every app, agent and no agent side by side (lib/measure-pair.js). */
function plan(apps, appNames, rounds) {
  const steps = [];
  for (let round = 0; round < rounds; round++) for (const name of appNames) steps.push({ round, app: apps[name] });
  return steps;
}

async function main() {
  const opts = parseOptions(process.argv.slice(2), process.env);
  if (opts.help) {
    console.log(usage());
    return;
  }
  if (opts.agent) setRegister(opts.agent);
  const register = registerPath();
  if (!fs.existsSync(path.join(path.dirname(register), 'dist', 'agent', 'bootstrap.js'))) {
    throw new Error(`no dist/ next to ${register}: build first (npm run build), or use npm run bench`);
  }
  const appNames = opts.only.filter((n) => n in APPS);
  const wantStartup = opts.only.includes('startup');
  const cores = os.cpus().length;
  const loadBefore = loadAverage();
  const others = procfs.watchOtherLoad();
  const date = new Date().toISOString();

  const sink = await startUdpSink();
  let prepared;
  const records = [];
  let startup;
  let memory;
  try {
    prepared = await prepareApps(appNames);
    const upstreamPort = prepared.upstreamPort;

    const steps = plan(prepared.apps, appNames, opts.rounds);
    const perStep = 2 * (opts.warmup + opts.duration) + (2 * opts.settleMs) / 1000 + 1;
    progress(
      `${steps.length} rounds (agent and no agent side by side, ${opts.slice} s slices) × ~${perStep.toFixed(1)} s` +
        `${wantStartup ? ` + start-up (${opts.startupRuns} × 2 runs)` : ''}; ` +
        `sink ${sink.address}${upstreamPort ? `, upstream 127.0.0.1:${upstreamPort}` : ''}; load average ${loadBefore}`,
    );
    for (const [i, step] of steps.entries()) {
      const pair = await measurePair({ app: step.app, sink, opts });
      records.push(...pair);
      const [off, on] = pair;
      progress(
        `[${i + 1}/${steps.length}] ${step.app.name}: ${Math.round(off.rps)} → ${Math.round(on.rps)} req/s (${(on.rps / off.rps).toFixed(2)}×), ` +
          `${off.cpuPerReq.toFixed(1)} → ${on.cpuPerReq.toFixed(1)} µs CPU/req, RSS ${(off.rss / 1048576).toFixed(1)} → ${(on.rss / 1048576).toFixed(1)} MiB, ` +
          `${on.datagrams} datagrams`,
      );
    }
    await prepared.stop();

    if (opts.only.includes('memory') && opts.memorySeconds > 0) {
      progress(`memory: plain app under sustained load, up to ${opts.memorySeconds} s per variant`);
      memory = await measureSteadyMemory({ app: APPS.plain, sink, opts, progress });
    }

    if (wantStartup) {
      progress(`start-up: ${opts.startupRuns} runs per variant`);
      startup = measureStartup({ runs: opts.startupRuns, daemonAddress: sink.address });
    }
  } finally {
    await prepared?.stop();
    await stopAll();
    await sink.close();
  }

  const loadAfter = loadAverage();
  const otherCores = others.stop();
  const meta = {
    date,
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    cpu: procfs.cpuModel(),
    cores,
    loadBefore,
    loadAfter,
    otherCores,
    // Other processes used more than a fifth of a core on average: they competed with the bench.
    busy: otherCores === undefined ? Number(loadBefore) > cores / 2 : otherCores > 0.2,
    agentVersion: agentVersion(path.dirname(register)),
    commit: commitOf(path.dirname(register)),
    register: register === REGISTER ? undefined : register,
    options: opts,
  };
  const report = renderReport({ records, appNames, startup, memory, meta });
  process.stdout.write(`${report}\n`);
  if (opts.write) {
    fs.writeFileSync(path.join(__dirname, 'RESULTS.md'), `${report}\n`);
    progress('written to bench/RESULTS.md');
  }
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    killAllNow();
    process.exit(130);
  });
}

main().catch((err) => {
  process.stderr.write(`bench: ${err && err.stack ? err.stack : err}\n`);
  killAllNow();
  process.exitCode = 1;
});
