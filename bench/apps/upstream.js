'use strict';
// The upstream of the downstream app: its own process, never run with the agent.

const http = require('node:http');
const probe = require('./probe');

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('world');
});
server.keepAliveTimeout = 60_000;

server.listen(0, '127.0.0.1', () => probe.attach(server));
