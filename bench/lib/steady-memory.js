'use strict';
// RSS of the plain app under sustained load, agent against no agent, compared once V8's young
// generation has stopped being a difference of time.
//
// Why a separate measurement: V8 grows the young generation (up to 32 MiB on 64-bit Node) when
// enough bytes have survived scavenges since its last growth, so it grows with the number of
// requests served, faster for a process that allocates more per request. After the few seconds of a
// throughput round, the agent's process has often doubled it once more than the baseline has,
// which shows as 8–16 MiB of RSS that a service under steady load also reaches without the agent,
// only later (seen here: the no-agent plain app went 8 → 16 MiB at ~25 s and 16 → 32 MiB at
// ~90 s of load). So: the agent's process runs until its young generation has not grown for
// `stableSeconds`; the baseline then runs until its young generation is as large, or until the
// time limit, which leaves the difference in place and says so.

const { spawnApp } = require('./children');
const { runLoad } = require('./load');
const { appSpawnOptions } = require('./agent-env');

const STEP_S = 5;

/**
 * @param {object} o
 * @param {{name: string, script: string, env?: object, path?: string}} o.app
 * @param {{address: string}} o.sink
 * @param {object} o.opts  bench options (memorySeconds, connections, pipelining)
 * @param {(msg: string) => void} o.progress
 */
async function measureSteadyMemory({ app, sink, opts, progress }) {
  const limit = opts.memorySeconds;
  const stableSeconds = Math.min(60, Math.max(STEP_S, Math.round(limit / 4)));
  const agent = await loadUntil({ app, sink, opts, agent: true, limit, progress, done: (s) => stableFor(s, stableSeconds) });
  const target = agent.samples.at(-1).young;
  const base = await loadUntil({ app, sink, opts, agent: false, limit, progress, done: (s) => s.at(-1).young >= target });
  const a = agent.samples.at(-1);
  const b = base.samples.at(-1);
  return {
    app: app.name,
    limit,
    stableSeconds,
    agent: a,
    noAgent: b,
    rssDelta: a.rss - b.rss,
    oldDelta: a.old - b.old,
    youngEqual: a.young === b.young,
  };
}

/** True when the young generation has not changed over the last `seconds` of samples. */
function stableFor(samples, seconds) {
  const steps = Math.ceil(seconds / STEP_S);
  if (samples.length <= steps) return false;
  const last = samples.at(-1).young;
  return samples.slice(-steps - 1).every((s) => s.young === last);
}

async function loadUntil({ app, sink, opts, agent, limit, progress, done }) {
  const proc = await spawnApp(appSpawnOptions(app, agent, sink, { labelSuffix: ' (memory)' }));
  const samples = [];
  try {
    let seconds = 0;
    let requests = 0;
    while (seconds < limit) {
      const res = await runLoad({ port: proc.port, duration: STEP_S, connections: opts.connections, pipelining: opts.pipelining, path: app.path ?? '/' });
      seconds += STEP_S;
      requests += res.requests;
      const p = await proc.probe();
      samples.push({ seconds, requests, rps: res.rps, rss: p.rss, young: p.young, old: p.old });
      if (done(samples)) break;
    }
    const last = samples.at(-1);
    progress(
      `memory, ${app.name}${agent ? '+agent' : ''}: ${last.seconds} s, ${last.requests} requests, ` +
        `young generation ${(last.young / 1048576).toFixed(0)} MiB, RSS ${(last.rss / 1048576).toFixed(1)} MiB`,
    );
    return { samples };
  } finally {
    await proc.stop();
  }
}

module.exports = { measureSteadyMemory };
