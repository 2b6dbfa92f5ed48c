'use strict';
// Start-up cost: wall-clock of `node --require <repo>/register.js -e 0` against `node -e 0`,
// interleaved (the order flips every pair so neither variant always runs on a warmer cache),
// after two unrecorded warm-up pairs. Runs standalone too: node bench/startup.js [runs]

const { spawnSync } = require('node:child_process');
const { childEnv, agentFlags } = require('./lib/agent-env');
const { median, quantile } = require('./lib/stats');

const WARMUP_PAIRS = 2;

function timeOnce(agent, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [...agentFlags(agent), '-e', '0'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 30000,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error || r.status !== 0) {
    throw new Error(
      `start-up run (${agent ? 'agent' : 'no agent'}) failed: ${r.error ? r.error.message : `exit ${r.status}`} ${r.stderr}`,
    );
  }
  const stderr = String(r.stderr || '').trim();
  return { ms, stderr };
}

/**
 * @param {object} o
 * @param {number} o.runs  recorded runs per variant
 * @param {string} o.daemonAddress  where the agent would send (nothing is sent by -e 0)
 */
function measureStartup({ runs, daemonAddress = '127.0.0.1:2000' }) {
  const envOff = childEnv(false, daemonAddress, 'bench-startup');
  const envOn = childEnv(true, daemonAddress, 'bench-startup');
  const times = { off: [], on: [] };
  let agentStderr = '';
  for (let i = 0; i < WARMUP_PAIRS + runs; i++) {
    const order = i % 2 === 0 ? [false, true] : [true, false];
    for (const agent of order) {
      const { ms, stderr } = timeOnce(agent, agent ? envOn : envOff);
      if (agent && stderr && !agentStderr) agentStderr = stderr.slice(0, 500);
      if (i >= WARMUP_PAIRS) times[agent ? 'on' : 'off'].push(ms);
    }
  }
  const sorted = (a) => [...a].sort((x, y) => x - y);
  const off = sorted(times.off);
  const on = sorted(times.on);
  // Per-pair differences cancel slow drifts of the machine (other load) better than medians alone.
  const diffs = times.on.map((v, i) => v - times.off[i]).sort((x, y) => x - y);
  return {
    runs,
    noAgent: { median: median(off), p25: quantile(off, 0.25), p75: quantile(off, 0.75), min: off[0] },
    agent: { median: median(on), p25: quantile(on, 0.25), p75: quantile(on, 0.75), min: on[0] },
    delta: median(on) - median(off),
    pairedDelta: median(diffs),
    agentStderr,
  };
}

module.exports = { measureStartup };

if (require.main === module) {
  const runs = Number(process.argv[2]) || 30;
  const r = measureStartup({ runs });
  console.log(
    `node -e 0: ${r.noAgent.median.toFixed(1)} ms, with agent: ${r.agent.median.toFixed(1)} ms, ` +
      `+${r.delta.toFixed(1)} ms (paired median +${r.pairedDelta.toFixed(1)} ms), ${runs} runs each`,
  );
  if (r.agentStderr) console.log(`agent stderr: ${r.agentStderr}`);
}
