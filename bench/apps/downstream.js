'use strict';
// App 2: one downstream HTTP call per request (http.get on a keep-alive agent) to the upstream
// server, which runs in another process (UPSTREAM_PORT) so its CPU is not charged to this app.
// With the agent: a segment per request plus one HTTP client subsegment.

const http = require('node:http');
const probe = require('./probe');

const upstreamPort = Number(process.env.UPSTREAM_PORT);
if (!upstreamPort) {
  process.stderr.write('downstream app: UPSTREAM_PORT is not set\n');
  process.exit(2);
}
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });

const server = http.createServer((req, res) => {
  http
    .get({ host: '127.0.0.1', port: upstreamPort, path: '/item', agent: keepAlive }, (up) => {
      let body = '';
      up.setEncoding('utf8');
      up.on('data', (chunk) => (body += chunk));
      up.on('end', () => {
        res.writeHead(up.statusCode === 200 ? 200 : 502, { 'content-type': 'text/plain' });
        res.end(`hello ${body}`);
      });
    })
    .on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
});

server.listen(0, '127.0.0.1', () => probe.attach(server));
