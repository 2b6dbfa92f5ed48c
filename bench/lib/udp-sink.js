'use strict';
// A stand-in X-Ray daemon on 127.0.0.1: it only counts the datagrams (documents) and bytes it
// receives, so the bench can show that the agent really produced a document per traced request.
// It keeps the last datagram for a sanity check of the header line, nothing else (bounded).

const dgram = require('node:dgram');

function startUdpSink() {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const counts = { datagrams: 0, bytes: 0, badHeader: 0 };
    let last;
    socket.on('message', (msg) => {
      counts.datagrams++;
      counts.bytes += msg.length;
      // Every datagram starts with the header line {"format":"json","version":1}\n (spec §2.1).
      if (msg[0] !== 0x7b || msg.indexOf(0x0a) === -1) counts.badHeader++;
      last = msg;
    });
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.removeListener('error', reject);
      socket.on('error', (err) => process.stderr.write(`bench: udp sink error: ${err.message}\n`));
      const { port } = socket.address();
      resolve({
        port,
        address: `127.0.0.1:${port}`,
        snapshot: () => ({ ...counts }),
        lastDatagram: () => (last ? last.toString('utf8') : undefined),
        close: () =>
          new Promise((done) => {
            try {
              socket.close(done);
            } catch {
              done();
            }
          }),
      });
    });
  });
}

module.exports = { startUdpSink };
