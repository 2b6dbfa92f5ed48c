'use strict';
// The demo's upstream: a tiny "inventory" service that examples/demo/app.js calls.
//   GET /stock?sku=...      → 200 {"sku":"...","inStock":true,"price":...}
//   GET /stock?sku=broken   → 503 (so the demo shows a failing downstream call)
// `npm run demo` starts it in its own process (not traced: it does not run under the agent).
// Standalone: `node examples/demo/inventory.js` prints `LISTENING <port>` (PORT, default 0 = any).
const http = require('node:http');

const PRICES = { book: 12.5, pen: 1.5 };

/** Starts the service on 127.0.0.1; resolves with { url, close() }. */
function startInventory(port = 0) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const sku = url.searchParams.get('sku') || 'unknown';
    let status = 200;
    let body = { sku, inStock: true, price: PRICES[sku] ?? 9.99 };
    if (url.pathname !== '/stock') [status, body] = [404, { error: 'not found' }];
    else if (sku === 'broken') [status, body] = [503, { error: 'inventory database unavailable' }];
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections(); // callers' keep-alive sockets must not hold us open
          }),
      });
    });
  });
}

module.exports = { startInventory };

if (require.main === module) {
  startInventory(Number(process.env.PORT || 0)).then(({ url }) => console.log(`LISTENING ${new URL(url).port}`));
}
