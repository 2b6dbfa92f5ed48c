'use strict';
// App for bench/sql-query.js: every request runs one simple pg query through a pool and answers
// with its result. With the agent: a segment plus one SQL subsegment per request. The driver is
// the newest pg under test (XRAY_TEST_NODE_MODULES), the server the one sql-query.js started.

const http = require('node:http');
const path = require('node:path');
const probe = require('./probe');

const pg = require(require.resolve('pg', { paths: [path.dirname(process.env.XRAY_TEST_NODE_MODULES)] }));
const pool = new pg.Pool({
  host: process.env.DB_HOST,
  port: Number(process.env.DB_PORT),
  user: process.env.DB_USER,
  password: process.env.DB_PASSWORD,
  database: process.env.DB_NAME,
  max: 10,
});

const server = http.createServer((req, res) => {
  pool.query('SELECT 1 AS one', (err, result) => {
    if (err) {
      res.writeHead(500);
      return res.end(err.message);
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(String(result.rows[0].one));
  });
});

server.listen(0, '127.0.0.1', () => probe.attach(server));
