'use strict';
// The cold-start bench's Lambda function: a small handler making one AWS SDK v3 call (DynamoDB
// GetItem) to a local endpoint. The client is created at init, as users write it.
const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb');

const client = new DynamoDBClient({ endpoint: process.env.DDB_ENDPOINT, region: process.env.AWS_REGION, maxAttempts: 1 });

exports.handler = async (event) => {
  const out = await client.send(new GetItemCommand({ TableName: 'orders', Key: { id: { S: String(event.id) } } }));
  return { id: out.Item.id.S, total: Number(out.Item.total.N) };
};
