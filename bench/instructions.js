'use strict';
// User-space instructions per request, counted by valgrind's callgrind: the one figure of the
// agent's cost that does not move with the machine. This VM's speed changes from minute to minute
// (the bare plain app has run anywhere from 37k to 61k req/s), so µs per request needs side-by-side
// rounds (bench/run.js); an instruction count repeats to within a few percent, run after run,
// whatever else the machine is doing. It is the figure to compare two builds of the agent with.
//
// What it does not see: the kernel (the UDP send of each document, the TCP write of the response,
// wake-ups), which is most of the rest of the agent's cost (bench/README.md).
//
// How: each variant's app runs under callgrind in a single-threaded V8 (--single-threaded, so
// compilation and GC happen on the counted thread and in the same order each run), twice: once
// for --warmup requests, once for --warmup + --requests. The difference of the two totals over
// --requests leaves out start-up and most of the JIT's warm-up.
//
//   node bench/instructions.js [--app=plain|downstream|express] [--requests=10000] [--warmup=3000]
//                              [--agent=path/to/register.js]

const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { spawnApp, stopAll } = require('./lib/children');
const { startUdpSink } = require('./lib/udp-sink');
const { runLoad } = require('./lib/load');
const { APPS, prepareApps } = require('./lib/apps');
const { appSpawnOptions, setRegister, registerPath } = require('./lib/agent-env');
// fixed_target 0 + rate 0: no request is sampled; the agent still decides, propagates and keeps context.
const SAMPLE_NONE = '{"version":2,"default":{"fixed_target":0,"rate":0}}';
const VALGRIND = ['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null'];

function parseArgs(argv) {
  const o = { app: 'plain', requests: 10000, warmup: 3000 };
  for (const a of argv) {
    const m = /^--(app|requests|warmup|agent)=(.+)$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a}\nusage: node bench/instructions.js [--app=plain|downstream|express] [--requests=10000] [--warmup=3000] [--agent=register.js]`);
    if (m[1] === 'app' || m[1] === 'agent') o[m[1]] = m[2];
    else o[m[1]] = Math.max(100, Number(m[2]) || 0);
  }
  if (!APPS[o.app]) throw new Error(`--app must be one of ${Object.keys(APPS).join(', ')}`);
  return o;
}

/** Runs the app under callgrind for `amount` requests; returns the instructions valgrind counted. */
async function countRun(app, agent, sink, amount, extraEnv) {
  const options = appSpawnOptions(app, agent, sink, { labelSuffix: ' (callgrind)', nodeArgs: ['--single-threaded'] });
  Object.assign(options.env, extraEnv);
  const proc = await spawnApp({ ...options, launcher: VALGRIND, readyTimeoutMs: 120000 });
  const result = await runLoad({ port: proc.port, amount, connections: 4, pipelining: 1, path: app.path ?? '/' });
  if (result.failed > 0) throw new Error(`${options.label}: ${result.failed} of ${amount} requests failed`);
  await proc.stop(120000);
  const m = /Collected\s*:\s*(\d+)/.exec(proc.stderrTail());
  if (!m) throw new Error(`${options.label}: valgrind printed no instruction count`);
  return Number(m[1]);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.agent) setRegister(o.agent);
  const check = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error('valgrind is not installed (Debian package valgrind)');
  const sink = await startUdpSink();
  let prepared;
  try {
    prepared = await prepareApps([o.app]);
    const app = prepared.apps[o.app];
    const variants = [
      { label: 'no agent', agent: false, env: {} },
      { label: 'agent, nothing sampled', agent: true, env: { AWS_XRAY_SAMPLING_RULES: SAMPLE_NONE } },
      { label: 'agent, 100 % sampled', agent: true, env: {} },
    ];
    const rows = [];
    for (const v of variants) {
      const short = await countRun(app, v.agent, sink, o.warmup, v.env);
      const long = await countRun(app, v.agent, sink, o.warmup + o.requests, v.env);
      rows.push({ ...v, short, long, perRequest: (long - short) / o.requests });
      process.stderr.write(`bench: ${v.label}: ${Math.round((long - short) / o.requests)} instructions per request\n`);
    }
    const base = rows[0].perRequest;
    console.log(`node ${process.version}, app ${app.name}, agent ${shortPath(registerPath())}; ${o.warmup} warm-up requests, ${o.requests} counted`);
    console.log('user-space instructions (callgrind, single-threaded V8), per request\n');
    console.log('| variant | instructions per request | added by the agent |');
    console.log('| --- | --- | --- |');
    for (const r of rows) console.log(`| ${r.label} | ${fmt(r.perRequest)} | ${r.agent ? '+' + fmt(r.perRequest - base) : '–'} |`);
  } finally {
    await prepared?.stop();
    await stopAll();
    await sink.close();
  }
}

const shortPath = (file) => path.relative(process.cwd(), file) || file;
const fmt = (n) => Math.round(n).toLocaleString('en-US');

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exitCode = 1;
});
