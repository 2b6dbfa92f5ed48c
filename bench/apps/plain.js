'use strict';
// App 1: a plain node:http server answering 'hello'. No framework, no work: what is left is
// Node's own HTTP cost, and, with the agent, the cost of one traced segment per request.

const http = require('node:http');
const probe = require('./probe');

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('hello');
});

server.listen(0, '127.0.0.1', () => probe.attach(server));
