'use strict';
// Start-up cost: wall-clock of `node --require <repo>/register.js -e 0` against `node -e 0`, and
// for ESM apps `node --import <repo>/register.mjs --input-type=module -e 0` (what
// `--import @xray/agent` resolves to) against
// `node --input-type=module -e 0` (Node's ESM loader is running in both), interleaved (the order
// flips every pair so neither variant always runs on a warmer cache), after two unrecorded warm-up
// pairs. Runs standalone too: node bench/startup.js [runs]

const { spawnSync } = require('node:child_process');
const { childEnv, agentFlags, esmAgentFlags } = require('./lib/agent-env');
const { median, quantile } = require('./lib/stats');

const WARMUP_PAIRS = 2;

function timeOnce(agent, env, esm) {
  const flags = esm ? [...esmAgentFlags(agent), '--input-type=module'] : agentFlags(agent);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [...flags, '-e', '0'], {
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
  const times = { off: [], on: [], esmOff: [], esmOn: [] };
  let agentStderr = '';
  for (let i = 0; i < WARMUP_PAIRS + runs; i++) {
    for (const esm of [false, true]) {
      const order = i % 2 === 0 ? [false, true] : [true, false];
      for (const agent of order) {
        const { ms, stderr } = timeOnce(agent, agent ? envOn : envOff, esm);
        if (agent && stderr && !agentStderr) agentStderr = stderr.slice(0, 500);
        if (i >= WARMUP_PAIRS) times[(esm ? 'esm' : '') + (agent ? (esm ? 'On' : 'on') : esm ? 'Off' : 'off')].push(ms);
      }
    }
  }
  return { runs, ...compare(times.off, times.on), esm: compare(times.esmOff, times.esmOn), agentStderr };
}

function compare(offTimes, onTimes) {
  const sorted = (a) => [...a].sort((x, y) => x - y);
  const off = sorted(offTimes);
  const on = sorted(onTimes);
  // Per-pair differences cancel slow drifts of the machine (other load) better than medians alone.
  const diffs = onTimes.map((v, i) => v - offTimes[i]).sort((x, y) => x - y);
  return {
    noAgent: { median: median(off), p25: quantile(off, 0.25), p75: quantile(off, 0.75), min: off[0] },
    agent: { median: median(on), p25: quantile(on, 0.25), p75: quantile(on, 0.75), min: on[0] },
    delta: median(on) - median(off),
    pairedDelta: median(diffs),
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
  console.log(
    `node --input-type=module -e 0: ${r.esm.noAgent.median.toFixed(1)} ms, with --import agent: ${r.esm.agent.median.toFixed(1)} ms, ` +
      `+${r.esm.delta.toFixed(1)} ms (paired median +${r.esm.pairedDelta.toFixed(1)} ms)`,
  );
  if (r.agentStderr) console.log(`agent stderr: ${r.agentStderr}`);
}
