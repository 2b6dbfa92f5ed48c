'use strict';
// The side channel between a bench app and the bench process. It uses the IPC pipe, not an HTTP
// endpoint, so the agent never sees (or traces) a measurement request:
//   parent → {type:'cpu', id}   child → {type:'cpu', id, user, system, rss}   (µs, bytes)
//   parent → {type:'stop'}      child closes its server and exits 0 (so --cpu-prof can write)
// The child announces {type:'ready', port} once its server listens.

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
      process.send({ type: 'cpu', id: msg.id, user, system, rss: process.memoryUsage.rss() });
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
