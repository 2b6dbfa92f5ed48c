'use strict';
// Where does the agent's CPU go? Runs one bench app under `node --cpu-prof` with load and prints
// the top functions by self time (all code, and agent code under dist/ alone) as µs per request.
// --diff profiles the app without and with the agent and ranks functions by the CPU the agent
// added (µs per request), which separates the agent's own code from the Node work it triggers
// (the UDP send syscall, async hooks, header handling, GC).
//
//   node bench/profile.js [--app=plain|downstream] [--duration=5] [--no-agent | --diff] [--top=25]
//                         [--interval-us=100] [--agent=path/to/register.js]
// The .cpuprofile files stay in a temp directory (path printed) for Chrome DevTools / speedscope.
// The profiler adds overhead of its own: read proportions, not absolute costs.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnApp, stopAll, killAllNow } = require('./lib/children');
const { prepareApps } = require('./lib/apps');
const { startUdpSink } = require('./lib/udp-sink');
const { runLoad } = require('./lib/load');
const { appSpawnOptions, setRegister, registerPath } = require('./lib/agent-env');
const { analyseProfile } = require('./lib/cpuprofile');

const WARMUP_S = 1;

function args(argv) {
  const o = { app: 'plain', duration: 5, agent: true, diff: false, top: 25, intervalUs: 100, register: process.env.BENCH_AGENT };
  for (const a of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a}`);
    if (m[1] === 'app') o.app = m[2];
    else if (m[1] === 'duration') o.duration = Math.min(120, Math.max(1, Number(m[2]) || 5));
    else if (m[1] === 'no-agent') o.agent = false;
    else if (m[1] === 'diff') o.diff = true;
    else if (m[1] === 'top') o.top = Math.min(200, Math.max(1, Number(m[2]) || 25));
    else if (m[1] === 'interval-us') o.intervalUs = Math.min(10000, Math.max(50, Number(m[2]) || 100));
    else if (m[1] === 'agent') o.register = m[2];
    else throw new Error(`unknown argument ${a}`);
  }
  if (!['plain', 'downstream'].includes(o.app)) throw new Error('--app must be plain or downstream');
  return o;
}

/** One profiled run; returns the analysis with every figure already in µs per request. */
async function profileOnce(o, benchApp, agent, sink) {
  const agentRoot = path.dirname(registerPath());
  let distDir = path.join(agentRoot, 'dist');
  try {
    distDir = fs.realpathSync(distDir); // profiles name files by their real path
  } catch {
    /* keep as is */
  }
  distDir += path.sep;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-bench-prof-'));
  const app = await spawnApp(
    appSpawnOptions(benchApp, agent, sink, {
      labelSuffix: ' (profiled)',
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${o.intervalUs}`],
    }),
  );
  const warm = await runLoad({ port: app.port, duration: WARMUP_S, connections: 10, pipelining: 1 });
  const res = await runLoad({ port: app.port, duration: o.duration, connections: 10, pipelining: 1 });
  await app.stop(60000); // the profile is written at exit
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
  const isAgent = (url) => !!url && decodeURIComponent(url.replace(/^file:\/\//, '')).startsWith(distDir);
  const p = analyseProfile(path.join(dir, file), path.dirname(distDir), isAgent);
  // The profile covers the warm-up too, so divide by every request the app served.
  const requests = warm.requests + res.requests;
  const isIdle = ([k]) => k.startsWith('(idle) ');
  const idle = (p.self.find(isIdle) || [, 0])[1];
  const perReq = (list) => list.filter((e) => !isIdle(e)).map(([k, us]) => [k, us / requests]);
  return {
    agent,
    file: path.join(dir, file),
    requests,
    rps: res.rps,
    busy: (p.total - idle) / requests,
    agentSelf: p.agentSelf / requests,
    self: perReq(p.self),
    inclusive: perReq(p.inclusive),
    fileSelf: perReq(p.fileSelf),
  };
}

function printTable(title, rows, top, busy) {
  console.log(['', `## ${title}`, '', '| µs/req | % of busy | function |', '| ---: | ---: | --- |'].join('\n'));
  for (const [k, v] of rows.slice(0, top)) console.log(`| ${v.toFixed(2)} | ${((100 * v) / busy).toFixed(1)} | \`${k}\` |`);
}

function printOne(o, r) {
  const agentOnly = (list) => list.filter(([k]) => / dist\//.test(k));
  console.log(`# CPU profile: ${o.app} app, ${r.agent ? 'with' : 'without'} the agent\n`);
  console.log(`profile: ${r.file} (sampling every ${o.intervalUs} µs)`);
  console.log(`load: ${r.requests} requests profiled (${WARMUP_S} s warm-up + ${o.duration} s at ${Math.round(r.rps)} req/s)`);
  console.log(`busy CPU: ${r.busy.toFixed(2)} µs/req; agent code (self time in dist/): ${r.agentSelf.toFixed(2)} µs/req`);
  printTable('Top self time, all code', r.self, o.top, r.busy);
  if (r.agent) {
    printTable('Top self time, agent code (dist/)', agentOnly(r.self), o.top, r.busy);
    printTable('Top inclusive time, agent code (dist/)', agentOnly(r.inclusive), o.top, r.busy);
  }
  printTable('Self time by file', r.fileSelf, o.top, r.busy);
}

function printDiff(o, off, on) {
  const delta = (a, b) => {
    const m = new Map(b.map(([k, v]) => [k, -v]));
    for (const [k, v] of a) m.set(k, (m.get(k) || 0) + v);
    return [...m.entries()].sort((x, y) => y[1] - x[1]);
  };
  const added = on.busy - off.busy;
  console.log(`# CPU profile diff: ${o.app} app, agent minus no agent\n`);
  console.log(`profiles: ${off.file}, ${on.file} (sampling every ${o.intervalUs} µs)`);
  console.log(
    `busy CPU: ${off.busy.toFixed(2)} → ${on.busy.toFixed(2)} µs/req (${added >= 0 ? '+' : ''}${added.toFixed(2)}); ` +
      `agent code's own self time: ${on.agentSelf.toFixed(2)} µs/req; req/s ${Math.round(off.rps)} → ${Math.round(on.rps)}`,
  );
  console.log('Positive rows are CPU the agent added; "% of busy" is relative to the agent run\'s busy CPU.');
  printTable('Self time added per function', delta(on.self, off.self), o.top, on.busy);
  printTable('Self time added per file', delta(on.fileSelf, off.fileSelf), o.top, on.busy);
}

async function main() {
  const o = args(process.argv.slice(2));
  if (o.register) setRegister(o.register);
  const sink = await startUdpSink();
  let prepared;
  try {
    prepared = await prepareApps([o.app]);
    const app = prepared.apps[o.app];
    if (o.diff) {
      const off = await profileOnce(o, app, false, sink);
      const on = await profileOnce(o, app, true, sink);
      printDiff(o, off, on);
    } else {
      printOne(o, await profileOnce(o, app, o.agent, sink));
    }
  } finally {
    await prepared?.stop();
    await stopAll();
    await sink.close();
  }
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    killAllNow();
    process.exit(130);
  });
}

main().catch((err) => {
  process.stderr.write(`profile: ${err && err.stack ? err.stack : err}\n`);
  killAllNow();
  process.exitCode = 1;
});
