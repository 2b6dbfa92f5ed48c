'use strict';
// A small shop service with no tracing code in its request handling: run it under the agent
//
//   node --require @xray/agent examples/demo/app.js
//
// and every incoming request becomes an X-Ray segment, and every outgoing call (node:http or
// fetch) a subsegment of it. The few lines using `xray` below are optional extras.
// INVENTORY_URL names the upstream it calls (examples/demo/inventory.js); PORT defaults to 0 (any).
const http = require('node:http');
const xray = require('@xray/agent'); // the manual API; works (records nothing) without the agent

const INVENTORY_URL = process.env.INVENTORY_URL || 'http://127.0.0.1:3001';

// GET with node:http, resolving to { status, body }.
function httpGet(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

const routes = {
  '/': async () => [200, { message: 'hello from demo-shop' }],

  '/checkout': async () => {
    // Annotations are indexed by X-Ray: find this trace later with `annotation.customer = "c-42"`.
    xray.getSegment()?.addAnnotation('customer', 'c-42');
    const stock = await httpGet(`${INVENTORY_URL}/stock?sku=book`); // traced: node:http
    const price = await fetch(`${INVENTORY_URL}/stock?sku=pen`).then((r) => r.json()); // traced: fetch
    // Your own code can get a subsegment too.
    const total = xray.captureFunc('price-rules', () => JSON.parse(stock.body).price + price.price);
    return [200, { ok: true, total }];
  },

  '/fail': async () => {
    const stock = await httpGet(`${INVENTORY_URL}/stock?sku=broken`); // answers 503
    const err = new Error(`inventory answered ${stock.status}`);
    xray.getSegment()?.addError(err); // shows up as the segment's exception
    return [502, { ok: false, error: err.message }];
  },
};

const server = http.createServer(async (req, res) => {
  const route = routes[new URL(req.url, 'http://localhost').pathname];
  const [status, body] = route ? await route().catch((e) => [500, { error: e.message }]) : [404, { error: 'not found' }];
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
});

server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`LISTENING ${server.address().port}`);
});
