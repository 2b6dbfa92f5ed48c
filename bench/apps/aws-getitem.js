'use strict';
// App for bench/aws-call.js: every request makes one DynamoDB GetItem (against the dynalite the
// bench started) and answers with the item. SDK=v3 (default) uses @aws-sdk/client-dynamodb, SDK=v2
// the `aws-sdk` package, each the newest version under test (XRAY_TEST_NODE_MODULES). The client is
// created once at start-up, as apps do. With the agent: a segment plus one `aws` subsegment per
// request (and no plain HTTP subsegment for the SDK's own request).

const http = require('node:http');
const path = require('node:path');
const probe = require('./probe');

const load = (name) => require(require.resolve(name, { paths: [path.dirname(process.env.XRAY_TEST_NODE_MODULES)] }));
const { DDB_ENDPOINT: endpoint, TABLE } = process.env;
const region = 'us-east-1';
const key = { id: { S: 'bench' } };
// One keep-alive connection pool for both SDKs, so the comparison is about the SDK call alone.
const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });

let getItem;
if (process.env.SDK === 'v2') {
  const AWS = load('aws-sdk');
  const ddb = new AWS.DynamoDB({ endpoint, region, httpOptions: { agent } });
  getItem = () => ddb.getItem({ TableName: TABLE, Key: key }).promise();
} else {
  const { DynamoDBClient, GetItemCommand } = load('@aws-sdk/client-dynamodb');
  const { NodeHttpHandler } = load('@smithy/node-http-handler');
  const ddb = new DynamoDBClient({ endpoint, region, requestHandler: new NodeHttpHandler({ httpAgent: agent }) });
  getItem = () => ddb.send(new GetItemCommand({ TableName: TABLE, Key: key }));
}

const server = http.createServer((req, res) => {
  getItem().then(
    (out) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(out.Item ? out.Item.id.S : 'none');
    },
    (err) => {
      res.writeHead(500);
      res.end(String(err && err.name));
    },
  );
});

server.listen(0, '127.0.0.1', () => probe.attach(server));
