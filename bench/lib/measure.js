'use strict';
// One measured round of one configuration (app × agent on/off), in a fresh child process:
//   start app → warm-up load (not measured) → settle → snapshot CPU / sink
//   → measured load → snapshot CPU → settle → snapshot sink, RSS → stop app.
// CPU per request is the child's own process.cpuUsage() delta (µs resolution, user + system, all
// threads) divided by the completed requests; /proc/<pid>/stat ticks give a coarse cross-check.

const { spawnApp } = require('./children');
const { runLoad } = require('./load');
const { appSpawnOptions } = require('./agent-env');
const procfs = require('./procfs');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @param {object} o
 * @param {{name:string, script:string, env?:object}} o.app
 * @param {boolean} o.agent
 * @param {{address:string, snapshot:()=>{datagrams:number,bytes:number}}} o.sink
 * @param {object} o.opts  bench options (duration, warmup, connections, pipelining, settleMs)
 */
async function measureRound({ app, agent, sink, opts }) {
  const proc = await spawnApp(appSpawnOptions(app, agent, sink));
  try {
    const load = { port: proc.port, connections: opts.connections, pipelining: opts.pipelining, rate: opts.rate, path: app.path ?? '/' };
    if (opts.warmup > 0) await runLoad({ ...load, duration: opts.warmup });
    await sleep(opts.settleMs);

    const cpu0 = await proc.probe();
    const ticks0 = procfs.cpuMicrosFromStat(proc.pid);
    const sink0 = sink.snapshot();
    const self0 = process.cpuUsage();

    const res = await runLoad({ ...load, duration: opts.duration });

    const self1 = process.cpuUsage(self0);
    const cpu1 = await proc.probe();
    const ticks1 = procfs.cpuMicrosFromStat(proc.pid);
    await sleep(opts.settleMs); // let the last datagrams arrive
    const sink1 = sink.snapshot();
    const mem = procfs.memory(proc.pid);
    const sample = agent ? describeDocument(sink.lastDatagram()) : undefined;

    const cpuMicros = cpu1.user + cpu1.system - (cpu0.user + cpu0.system);
    const datagrams = sink1.datagrams - sink0.datagrams;
    const bytes = sink1.bytes - sink0.bytes;
    return {
      app: app.name,
      agent,
      requests: res.requests,
      failed: res.failed,
      rps: res.rps,
      p50: res.p50,
      p99: res.p99,
      cpuPerReq: res.requests > 0 ? cpuMicros / res.requests : NaN,
      cpuPerReqTicks:
        res.requests > 0 && ticks0 !== undefined && ticks1 !== undefined ? (ticks1 - ticks0) / res.requests : NaN,
      // Share of one core the app used during the measured load.
      cpuShare: cpuMicros / (res.seconds * 1e6),
      // Share of one core the bench process itself (autocannon + UDP sink) used: near 100 % means
      // the load generator, not the app, limits req/s.
      loadgenShare: (self1.user + self1.system) / (res.seconds * 1e6),
      rss: mem.rss,
      hwm: mem.hwm,
      young: cpu1.young,
      old: cpu1.old,
      datagrams,
      bytes,
      docsPerReq: res.requests > 0 ? datagrams / res.requests : NaN,
      bytesPerDoc: datagrams > 0 ? bytes / datagrams : NaN,
      sample,
      stderr: proc.stderr(),
    };
  } finally {
    await proc.stop();
  }
}

/** What the last document received looks like: 'segment bench-plain, 1 subsegment(s)'. */
function describeDocument(datagram) {
  if (!datagram) return 'none received';
  try {
    const nl = datagram.indexOf('\n');
    const header = JSON.parse(datagram.slice(0, nl));
    const doc = JSON.parse(datagram.slice(nl + 1));
    const kind = doc.type === 'subsegment' ? 'subsegment' : 'segment';
    const subs = Array.isArray(doc.subsegments) ? doc.subsegments.length : 0;
    const fmt = header.format === 'json' && header.version === 1 ? '' : ' (unexpected header line)';
    return `${kind} "${doc.name}", ${subs} subsegment(s)${doc.http?.response?.status ? `, status ${doc.http.response.status}` : ''}${fmt}`;
  } catch (err) {
    return `unparseable (${err.message})`;
  }
}

module.exports = { measureRound, describeDocument };
