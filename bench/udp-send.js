'use strict';
// What one datagram costs the sender on this machine, with no agent involved: a tight loop of
// `dgram` sends of a segment-sized datagram (476 bytes, the plain app's) over a connected socket to
// a receiver in another process, sent one at a time and in the agent's bursts. User and system CPU
// per datagram, medians of a few runs. Every traced request sends at least one datagram, so this is
// the floor under the agent's added CPU on the plain app (bench/README.md).
//
//   node bench/udp-send.js [--runs=5] [--count=100000]

const dgram = require('node:dgram');
const { fork } = require('node:child_process');
const { median } = require('./lib/stats');

const SIZE = 476;

function receiver() {
  const socket = dgram.createSocket('udp4');
  let received = 0;
  socket.on('message', () => received++);
  socket.bind(0, '127.0.0.1', () => process.send({ port: socket.address().port }));
  process.on('message', () => process.send({ received }, () => process.exit(0)));
}

function args(argv) {
  const o = { runs: 5, count: 100000 };
  for (const a of argv) {
    const m = /^--(runs|count)=(\d+)$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a}\nusage: node bench/udp-send.js [--runs=5] [--count=100000]`);
    o[m[1]] = Math.max(1, Number(m[2]));
  }
  return o;
}

function sendAll(socket, burst, count) {
  const buf = Buffer.alloc(SIZE, 0x61);
  return new Promise((resolve) => {
    let sent = 0;
    const before = process.cpuUsage();
    const tick = () => {
      for (let i = 0; i < burst && sent < count; i++, sent++) socket.send(buf, 0, SIZE);
      if (sent < count) setImmediate(tick);
      else {
        const used = process.cpuUsage(before);
        resolve({ user: used.user / count, system: used.system / count });
      }
    };
    tick();
  });
}

async function main() {
  const o = args(process.argv.slice(2));
  const child = fork(__filename, ['--receiver'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await new Promise((resolve) => child.once('message', resolve));
  const socket = dgram.createSocket('udp4');
  await new Promise((resolve) => socket.connect(port, '127.0.0.1', resolve));
  const rows = [];
  for (const burst of [1, 64]) {
    const runs = [];
    for (let r = 0; r < o.runs; r++) runs.push(await sendAll(socket, burst, o.count));
    rows.push({ burst, user: median(runs.map((x) => x.user)), system: median(runs.map((x) => x.system)) });
  }
  child.send('done');
  const { received } = await new Promise((resolve) => child.once('message', resolve));
  socket.close();
  console.log(`node ${process.version}, ${SIZE}-byte datagrams to 127.0.0.1, ${o.runs} runs of ${o.count} per row (medians)\n`);
  console.log('| sends per turn of the event loop | user µs/datagram | system µs/datagram | total |');
  console.log('| --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.burst} | ${r.user.toFixed(2)} | ${r.system.toFixed(2)} | ${(r.user + r.system).toFixed(2)} |`);
  console.log(`\nreceiver got ${received} of ${2 * o.runs * o.count} datagrams (loopback drops some when its buffer is full)`);
}

if (process.argv[2] === '--receiver') receiver();
else main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exitCode = 1;
});
