'use strict';
// Bench settings: defaults for a full run, a --quick smoke mode, and overrides from the command
// line (--rounds=3) or the environment (BENCH_ROUNDS=3). Command line beats environment beats mode.

const FULL = {
  rounds: 5, // agent / no-agent pairs per app, alternating
  duration: 5, // seconds of measured load per round and side
  slice: 1, // seconds per measured slice; agent and no agent alternate slice by slice
  warmup: 1, // seconds of unmeasured load before each measured round (JIT, sockets, pools)
  connections: 10,
  pipelining: 1,
  startupRuns: 30, // per variant, interleaved
  settleMs: 250, // quiet time before/after a measured round (datagrams in flight, CPU counters)
  rate: 0, // 0: closed loop (as fast as the app answers); N: autocannon caps the total at N req/s
  memorySeconds: 240, // longest sustained load per variant for the steady-state memory figure
};

const QUICK = {
  rounds: 1,
  duration: 1,
  slice: 0.5,
  warmup: 0.5,
  connections: 10,
  pipelining: 1,
  startupRuns: 6,
  settleMs: 150,
  rate: 0,
  memorySeconds: 0, // skipped
};

const LIMITS = {
  rounds: [1, 50],
  duration: [0.2, 600],
  slice: [0.2, 600],
  warmup: [0, 60],
  connections: [1, 1000],
  pipelining: [1, 100],
  startupRuns: [1, 500],
  settleMs: [0, 10000],
  rate: [0, 1000000],
  memorySeconds: [0, 3600],
};

const ENV = {
  rounds: 'BENCH_ROUNDS',
  duration: 'BENCH_DURATION',
  slice: 'BENCH_SLICE',
  warmup: 'BENCH_WARMUP',
  connections: 'BENCH_CONNECTIONS',
  pipelining: 'BENCH_PIPELINING',
  startupRuns: 'BENCH_STARTUP_RUNS',
  settleMs: 'BENCH_SETTLE_MS',
  rate: 'BENCH_RATE',
  memorySeconds: 'BENCH_MEMORY_SECONDS',
};

function usage() {
  return [
    'usage: node bench/run.js [--quick] [--rounds=N] [--duration=S] [--slice=S] [--warmup=S] [--connections=N]',
    '                         [--pipelining=N] [--startup-runs=N] [--settle-ms=MS] [--rate=N] [--memory-seconds=S]',
    '                         [--no-write] [--only=plain,downstream,express,startup,memory]',
    '                         [--agent=path/to/register.js]   (default: the repo\'s register.js)',
    'env:   BENCH_QUICK=1 BENCH_ROUNDS BENCH_DURATION BENCH_SLICE BENCH_WARMUP BENCH_CONNECTIONS BENCH_PIPELINING BENCH_STARTUP_RUNS BENCH_SETTLE_MS BENCH_RATE BENCH_MEMORY_SECONDS BENCH_AGENT',
  ].join('\n');
}

function camel(flag) {
  return flag.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
}

function parseOptions(argv, env) {
  const quick = argv.includes('--quick') || env.BENCH_QUICK === '1';
  const opts = { ...(quick ? QUICK : FULL), quick, write: true, only: ['plain', 'downstream', 'express', 'startup', 'memory'], agent: env.BENCH_AGENT || undefined };
  for (const key of Object.keys(ENV)) {
    if (env[ENV[key]] !== undefined && env[ENV[key]] !== '') opts[key] = toNumber(key, env[ENV[key]], ENV[key]);
  }
  for (const arg of argv) {
    if (arg === '--quick') continue;
    if (arg === '--no-write') {
      opts.write = false;
      continue;
    }
    if (arg === '--help' || arg === '-h') {
      opts.help = true;
      continue;
    }
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (m && m[1] === 'agent') {
      opts.agent = m[2];
      continue;
    }
    if (m && m[1] === 'only') {
      opts.only = m[2].split(',').map((s) => s.trim()).filter(Boolean);
      continue;
    }
    if (!m || !(camel(m[1]) in LIMITS)) throw new Error(`unknown argument "${arg}"\n${usage()}`);
    opts[camel(m[1])] = toNumber(camel(m[1]), m[2], `--${m[1]}`);
  }
  return opts;
}

function toNumber(key, raw, name) {
  const n = Number(raw);
  const [min, max] = LIMITS[key];
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${name}=${raw}: expected a number in [${min}, ${max}]`);
  return key === 'duration' || key === 'warmup' || key === 'slice' ? n : Math.round(n);
}

module.exports = { parseOptions, usage };
