'use strict';
// One measured round of one app, agent and no agent side by side: both processes run for the whole
// round and the measured load alternates between them in short slices (A B B A A B …), so a change
// in the machine's speed (other tenants of a virtual machine, CPU frequency) falls on both sides
// alike. Measured one after the other for seconds each, the two sides of a pair landed in different
// phases often enough here to swing the ratio between them from 0.45 to 0.69.
//   start both → warm-up load on each (not measured) → settle → slices: for each, snapshot the
//   side's CPU / sink → load → snapshot again (after a pause that lets the agent's last burst
//   leave, ≤ 5 ms) → settle → RSS of both → stop both.
// CPU per request is each child's own process.cpuUsage() over its slices ÷ its completed requests.

const { spawnApp } = require('./children');
const { runLoad } = require('./load');
const { appSpawnOptions } = require('./agent-env');
const { describeDocument } = require('./measure');
const { quantile } = require('./stats');
const procfs = require('./procfs');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** After a slice: longer than the agent's burst window (AWS_XRAY_SEND_BATCH_MS, 5 ms). */
const SLICE_PAUSE_MS = 30;

/**
 * @param {object} o
 * @param {{name:string, script:string, env?:object, path?:string}} o.app
 * @param {{address:string, snapshot:()=>{datagrams:number,bytes:number}, lastDatagram:()=>string|undefined}} o.sink
 * @param {object} o.opts  bench options (duration, slice, warmup, connections, pipelining, rate, settleMs)
 * @returns {Promise<object[]>} two records (no agent, agent) in the shape measure.js gives
 */
async function measurePair({ app, sink, opts }) {
  const sides = [];
  try {
    for (const agent of [false, true]) {
      const proc = await spawnApp(appSpawnOptions(app, agent, sink));
      sides.push({ agent, proc, requests: 0, failed: 0, seconds: 0, cpu: 0, ticks: 0, loadgen: 0, datagrams: 0, bytes: 0, latencies: [] });
    }
    const load = (side, duration) =>
      runLoad({ port: side.proc.port, duration, connections: opts.connections, pipelining: opts.pipelining, rate: opts.rate, path: app.path ?? '/' });
    for (const side of sides) if (opts.warmup > 0) await load(side, opts.warmup);
    await sleep(opts.settleMs);

    const slices = Math.max(1, Math.round(opts.duration / opts.slice));
    const sliceSeconds = opts.duration / slices;
    for (let i = 0; i < slices; i++) {
      // A B, B A, A B …: neither side always goes first.
      const order = i % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        const cpu0 = await side.proc.probe();
        const ticks0 = procfs.cpuMicrosFromStat(side.proc.pid);
        const sink0 = sink.snapshot();
        const self0 = process.cpuUsage();
        const res = await load(side, sliceSeconds);
        const self1 = process.cpuUsage(self0);
        await sleep(SLICE_PAUSE_MS);
        const cpu1 = await side.proc.probe();
        const ticks1 = procfs.cpuMicrosFromStat(side.proc.pid);
        const sink1 = sink.snapshot();
        side.requests += res.requests;
        side.failed += res.failed;
        side.seconds += res.seconds;
        side.cpu += cpu1.user + cpu1.system - (cpu0.user + cpu0.system);
        side.ticks = ticks0 === undefined || ticks1 === undefined || Number.isNaN(side.ticks) ? NaN : side.ticks + (ticks1 - ticks0);
        side.loadgen += self1.user + self1.system;
        side.datagrams += sink1.datagrams - sink0.datagrams;
        side.bytes += sink1.bytes - sink0.bytes;
        side.latencies.push(res.latencies.slice()); // a copy: the view holds runLoad's 8 MiB buffer
        side.last = cpu1;
        if (side.agent) side.sample = describeDocument(sink.lastDatagram());
      }
    }
    await sleep(opts.settleMs);
    return sides.map((side) => record(app, side));
  } finally {
    for (const side of sides) await side.proc.stop();
  }
}

function record(app, side) {
  const mem = procfs.memory(side.proc.pid);
  const all = mergeSorted(side.latencies);
  const n = side.requests;
  return {
    app: app.name,
    agent: side.agent,
    requests: n,
    failed: side.failed,
    rps: n / side.seconds,
    p50: quantile(all, 0.5),
    p99: quantile(all, 0.99),
    cpuPerReq: n > 0 ? side.cpu / n : NaN,
    cpuPerReqTicks: n > 0 ? side.ticks / n : NaN,
    cpuShare: side.cpu / (side.seconds * 1e6),
    loadgenShare: side.loadgen / (side.seconds * 1e6),
    rss: mem.rss,
    hwm: mem.hwm,
    young: side.last.young,
    old: side.last.old,
    datagrams: side.datagrams,
    bytes: side.bytes,
    docsPerReq: n > 0 ? side.datagrams / n : NaN,
    bytesPerDoc: side.datagrams > 0 ? side.bytes / side.datagrams : NaN,
    sample: side.sample,
    stderr: side.proc.stderr(),
  };
}

function mergeSorted(parts) {
  const out = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out.sort();
}

module.exports = { measurePair };
