'use strict';
// Child of bench/aws-span-cost.js: makes CALLS sequential DynamoDB GetItem calls (SDK=v3|v2, the
// newest version under test) to the stub endpoint DDB_ENDPOINT, each inside its own segment when the
// agent is loaded (started through the agent's recorder, as an incoming request would), and prints
// one JSON line: CPU µs per call (user + system of this process), measured after a warm-up.

const path = require('node:path');
const http = require('node:http');

const load = (name) => require(require.resolve(name, { paths: [path.dirname(process.env.XRAY_TEST_NODE_MODULES)] }));
const endpoint = process.env.DDB_ENDPOINT;
const region = 'us-east-1';
const key = { id: { S: 'bench' } };
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

let getItem;
if (process.env.SDK === 'v2') {
  const AWS = load('aws-sdk');
  const ddb = new AWS.DynamoDB({ endpoint, region, httpOptions: { agent } });
  getItem = () => ddb.getItem({ TableName: 'bench', Key: key }).promise();
} else {
  const { DynamoDBClient, GetItemCommand } = load('@aws-sdk/client-dynamodb');
  const { NodeHttpHandler } = load('@smithy/node-http-handler');
  const ddb = new DynamoDBClient({ endpoint, region, requestHandler: new NodeHttpHandler({ httpAgent: agent }) });
  getItem = () => ddb.send(new GetItemCommand({ TableName: 'bench', Key: key }));
}

// With the agent: one segment per call, the way an incoming request would have it.
const repo = path.join(__dirname, '..', '..');
const running = require(path.join(repo, 'dist', 'agent', 'runtime.js')).currentAgent();
const recorder = running && running.recorder;
const { run } = require(path.join(repo, 'dist', 'agent', 'context.js'));
const traced = recorder
  ? () => {
      const segment = recorder.startSegment({ name: 'bench' });
      return run(segment, getItem).then((out) => {
        segment.close();
        return out;
      });
    }
  : getItem;

async function loop(n) {
  for (let i = 0; i < n; i++) await traced();
}

(async () => {
  const calls = Number(process.env.CALLS || 5000);
  await loop(Math.min(2000, calls)); // warm-up: JIT, connection, credentials, region
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  await loop(calls);
  const cpu = process.cpuUsage(t0);
  const wall = performance.now() - w0;
  process.stdout.write(JSON.stringify({ cpuPerCall: (cpu.user + cpu.system) / calls, wallPerCall: (wall * 1000) / calls }) + '\n');
  agent.destroy();
  process.exit(0);
})().catch((err) => {
  process.stderr.write(String(err && err.stack) + '\n');
  process.exit(1);
});
