'use strict';
// Drives load with autocannon (closed loop: N connections, pipelining P) against 127.0.0.1 and
// returns throughput and latency. autocannon's own histogram has 1 ms resolution, too coarse for
// a loopback 'hello'; so the latency of every response is also kept here (float ms, bounded
// reservoir) and p50/p99 are computed from that.

const autocannon = require('autocannon');
const { quantile } = require('./stats');

const RESERVOIR = 1 << 20; // 8 MiB of float64; beyond that, uniform reservoir sampling

/**
 * @param {object} o
 * @param {number} o.port
 * @param {number} o.duration  seconds
 * @param {number} o.connections
 * @param {number} o.pipelining
 * @param {number} [o.rate]  total req/s cap (0: closed loop)
 * @param {number} [o.amount]  send exactly this many requests instead of loading for `duration`
 */
async function runLoad({ port, duration, connections, pipelining, rate = 0, path = '/', amount }) {
  const latencies = new Float64Array(RESERVOIR);
  let seen = 0;
  let ok = 0;
  let bad = 0;
  const started = process.hrtime.bigint();
  const instance = autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    connections,
    pipelining,
    timeout: 10,
    ...(amount > 0 ? { amount } : { duration }),
    ...(rate > 0 ? { overallRate: rate } : {}),
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode < 200 || statusCode > 299) {
      bad++;
      return;
    }
    ok++;
    if (seen < RESERVOIR) latencies[seen] = responseTime;
    else {
      const j = Math.floor(Math.random() * (seen + 1));
      if (j < RESERVOIR) latencies[j] = responseTime;
    }
    seen++;
  });
  const result = await instance;
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const sample = latencies.subarray(0, Math.min(seen, RESERVOIR)).sort();
  return {
    requests: ok,
    failed: bad + result.errors + result.timeouts,
    seconds: elapsed,
    rps: ok / elapsed,
    p50: quantile(sample, 0.5),
    p99: quantile(sample, 0.99),
    /** Every response's latency (ms, sorted; a uniform sample past 2^20), to merge several loads. */
    latencies: sample,
  };
}

module.exports = { runLoad };
