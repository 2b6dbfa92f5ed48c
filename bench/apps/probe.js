'use strict';
// The side channel between a bench app and the bench process. It uses the IPC pipe, not an HTTP
// endpoint, so the agent never sees (or traces) a measurement request:
//   parent → {type:'cpu', id}   child → {type:'cpu', id, user, system, rss, young, old}   (µs, bytes)
//   parent → {type:'stop'}      child closes its server and exits 0 (so --cpu-prof can write)
// The child announces {type:'ready', port} once its server listens.

/**
 * V8's heap split in two: the young generation (new space, which V8 grows up to 32 MiB when objects
 * outlive a scavenge: sized for throughput, not data kept) and everything else (what stays).
 */
function heapSpaces() {
  let young = 0;
  let old = 0;
  for (const s of require('node:v8').getHeapSpaceStatistics()) {
    if (s.space_name.startsWith('new_')) young += s.space_size;
    else old += s.space_size;
  }
  return { young, old };
}

function attach(server) {
  if (typeof process.send !== 'function') {
    // Run by hand (no IPC): just say where it listens.
    process.stderr.write(`listening on 127.0.0.1:${server.address().port}\n`);
    return;
  }
  process.on('message', (msg) => {
    if (!msg || typeof msg !== 'object') return;
    if (msg.type === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send({ type: 'cpu', id: msg.id, user, system, rss: process.memoryUsage.rss(), ...heapSpaces() });
    } else if (msg.type === 'stop') {
      server.closeAllConnections?.();
      server.close();
      // Exit explicitly: keep-alive agents or the IPC pipe must not keep us up.
      setImmediate(() => process.exit(0));
    }
  });
  // If the bench dies, the pipe closes: do not linger.
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready', port: server.address().port });
}

module.exports = { attach };
