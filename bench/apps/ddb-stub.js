'use strict';
// A canned DynamoDB endpoint for bench/aws-call.js --endpoint=stub: answers every request with the
// same GetItem result, at a small fraction of dynalite's CPU, so the measured app (not the
// endpoint) is the bottleneck and CPU per call is measured with little noise.

const http = require('node:http');
const probe = require('./probe');

const body = JSON.stringify({ Item: { id: { S: 'bench' }, n: { N: '1' } } });
let counter = 0;
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    counter += 1;
    res.writeHead(200, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(body),
      'x-amzn-requestid': `STUB${String(counter).padStart(48, '0')}`,
    });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => probe.attach(server));
