'use strict';
// The DynamoDB endpoint of bench/aws-call.js: dynalite (in memory) in its own process, so its CPU
// competes with neither the measured app nor the load generator's event loop. Creates the table
// and the one item every GetItem reads, then announces its port over the probe channel.

const path = require('node:path');
const probe = require('./probe');
const dynalite = require(path.join(__dirname, '..', '..', 'node_modules', 'dynalite'));

const TABLE = process.env.TABLE;
const server = dynalite({ createTableMs: 0 });

async function call(url, target, body) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `DynamoDB_20120810.${target}`,
      authorization: 'AWS4-HMAC-SHA256 Credential=bench/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
      'x-amz-date': '20200101T000000Z',
    },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${target}: ${res.status} ${await res.text()}`);
}

server.listen(0, '127.0.0.1', async () => {
  const url = `http://127.0.0.1:${server.address().port}`;
  await call(url, 'CreateTable', {
    TableName: TABLE,
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
  });
  await call(url, 'PutItem', { TableName: TABLE, Item: { id: { S: 'bench' }, n: { N: '1' } } });
  probe.attach(server);
});
