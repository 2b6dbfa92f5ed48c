'use strict';
// Measures (does not assert) that a reservoir quota of N per second assigned through
// GetSamplingTargets yields about N sampled requests per second under a steady request loop.
// Real clock, real HTTP to the in-process proxy stand-in, the real sampler/poller/client from dist/.
//
//   npx tsc -p . && node bench/sampling-quota.js            # N = 1 5 20 100, 2000 req/s, 5 s each
//   QUOTAS="10" RATE=5000 SECONDS=5 node bench/sampling-quota.js

const path = require('node:path');
const dist = path.join(__dirname, '..', 'dist');
const { CentralizedSampler } = require(path.join(dist, 'agent/sampling/centralized-sampler.js'));
const { DaemonProxyClient } = require(path.join(dist, 'agent/sampling/daemon-proxy-client.js'));
const { SamplingPoller } = require(path.join(dist, 'agent/sampling/poller.js'));
const { createLocalSampler } = require(path.join(dist, 'agent/sampling/local-sampler.js'));
const { startSamplingProxy, defaultRule } = require(path.join(dist, 'test/helpers/sampling-proxy.js'));

const QUOTAS = (process.env.QUOTAS || '1 5 20 100').split(/[\s,]+/).filter(Boolean).map(Number);
const RATE = Number(process.env.RATE || 2000); // decisions per second
const SECONDS = Number(process.env.SECONDS || 5);
const TICK_MS = 10;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function measure(quota) {
  const proxy = await startSamplingProxy();
  // FixedRate 0: everything sampled comes from the reservoir (borrow, then the quota).
  proxy.rules = [defaultRule({ FixedRate: 0, ReservoirSize: quota })];
  proxy.targets.set('Default', { FixedRate: 0, ReservoirQuota: quota, ReservoirQuotaTTL: Date.now() / 1000 + 3600, Interval: 10 });

  let poller;
  const sampler = new CentralizedSampler({
    local: createLocalSampler(undefined),
    onFirstDecide: () => poller.start(),
    onClose: () => poller.stop(),
  });
  poller = new SamplingPoller(sampler, new DaemonProxyClient({ host: '127.0.0.1', port: proxy.port }), { targetsPollMs: 500 });

  const perSecond = new Map(); // epoch second -> [requests, sampled]
  let phase = 'warmup';
  const loop = setInterval(() => {
    const n = Math.round((RATE * TICK_MS) / 1000);
    const sec = Math.floor(Date.now() / 1000);
    let sampled = 0;
    for (let i = 0; i < n; i++) if (sampler.decide({ urlPath: '/x', method: 'GET' }).sampled) sampled++;
    if (phase !== 'measure') return;
    const row = perSecond.get(sec) || [0, 0];
    row[0] += n;
    row[1] += sampled;
    perSecond.set(sec, row);
  }, TICK_MS);

  // Warm-up: first decision starts the poller; wait for the first statistics exchange, which
  // brings the quota, then start on a whole second so every bucket is a full second.
  const t0 = Date.now();
  while (proxy.statistics.length === 0 && Date.now() - t0 < 5000) await sleep(20);
  await sleep(100);
  await sleep(1000 - (Date.now() % 1000));
  phase = 'measure';
  await sleep(SECONDS * 1000);
  phase = 'done';
  clearInterval(loop);
  sampler.close();
  await proxy.close();

  const rows = [...perSecond.entries()].sort((a, b) => a[0] - b[0]).slice(0, SECONDS);
  const sampled = rows.map((r) => r[1][1]);
  const requests = rows.map((r) => r[1][0]);
  const mean = sampled.reduce((a, b) => a + b, 0) / Math.max(1, sampled.length);
  const reqMean = requests.reduce((a, b) => a + b, 0) / Math.max(1, requests.length);
  return { quota, perSecond: sampled, mean, reqPerSecond: Math.round(reqMean), statsReports: proxy.statistics.length };
}

(async () => {
  console.log(`quota bench: ${RATE} decisions/s for ${SECONDS} s per quota; FixedRate 0 (only the reservoir samples)`);
  for (const q of QUOTAS) {
    const r = await measure(q);
    console.log(
      `quota ${String(r.quota).padStart(4)}/s -> sampled per second [${r.perSecond.join(', ')}], mean ${r.mean.toFixed(2)}/s ` +
        `(${r.reqPerSecond} requests/s, ${r.statsReports} statistics reports)`,
    );
  }
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
