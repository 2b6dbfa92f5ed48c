// Real AWS-compatible endpoints on loopback for the AWS SDK e2e tests, started in the test process:
// dynalite (DynamoDB, in memory) and s3rver (S3, in a temp dir) from npm, plus the small SQS / SNS /
// Lambda endpoint of ./aws-endpoint. Every endpoint records the X-Amzn-Trace-Id of each request it
// receives, so a test can check that the trace continued into "AWS".

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as http from 'node:http';
import { startAwsEndpoint, type AwsEndpoint } from './aws-endpoint';

export interface ReceivedRequest {
  /** DynamoDB: the X-Amz-Target operation; S3: `<METHOD> <path>`. */
  what: string;
  traceHeader: string | undefined;
}

export interface AwsServices {
  dynamodb: { url: string; requests: ReceivedRequest[] };
  s3: { url: string; requests: ReceivedRequest[]; bucket: string };
  endpoint: AwsEndpoint;
  /** What every fixture needs in its environment: endpoints and (fake) credentials. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export const BUCKET = 'xray-test-bucket';
export const TABLE = 'xray-test-table';

/* eslint-disable @typescript-eslint/no-require-imports */
export async function startAwsServices(): Promise<AwsServices> {
  const dynalite = require('dynalite') as (opts: Record<string, unknown>) => http.Server;
  const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => { run(): Promise<{ port: number }>; close(): Promise<void>; httpServer: http.Server };

  const ddbServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const ddbRequests: ReceivedRequest[] = [];
  ddbServer.on('request', (req: http.IncomingMessage) => {
    ddbRequests.push({ what: String(req.headers['x-amz-target'] ?? ''), traceHeader: header(req) });
  });
  await new Promise<void>((resolve) => ddbServer.listen(0, '127.0.0.1', resolve));
  const ddbUrl = `http://127.0.0.1:${(ddbServer.address() as { port: number }).port}`;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-s3rver-'));
  const s3 = new S3rver({ port: 0, address: '127.0.0.1', directory: dir, silent: true, configureBuckets: [{ name: BUCKET }] });
  const { port: s3Port } = await s3.run();
  const s3Requests: ReceivedRequest[] = [];
  let s3Counter = 0;
  s3.httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    s3Requests.push({ what: `${req.method} ${req.url}`, traceHeader: header(req) });
    // S3 answers every request with its request ids; s3rver sends none. (This listener runs right
    // after s3rver's async handler started, before it writes the response.)
    s3Counter += 1;
    res.setHeader('x-amz-request-id', `S3REQ${String(s3Counter).padStart(11, '0')}`);
    res.setHeader('x-amz-id-2', `s3-extended-id-${s3Counter}`);
  });

  const endpoint = await startAwsEndpoint();
  await createTable(ddbUrl);
  ddbRequests.length = 0;

  return {
    dynamodb: { url: ddbUrl, requests: ddbRequests },
    s3: { url: `http://127.0.0.1:${s3Port}`, requests: s3Requests, bucket: BUCKET },
    endpoint,
    env: {
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      DDB_ENDPOINT: ddbUrl,
      S3_ENDPOINT: `http://127.0.0.1:${s3Port}`,
      AWS_ENDPOINT: endpoint.url,
      TABLE,
      BUCKET,
    },
    close: async () => {
      await endpoint.close();
      await s3.close();
      ddbServer.closeAllConnections?.();
      await new Promise<void>((resolve) => ddbServer.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
/* eslint-enable @typescript-eslint/no-require-imports */

function header(req: http.IncomingMessage): string | undefined {
  const h = req.headers['x-amzn-trace-id'];
  return Array.isArray(h) ? h[0] : h;
}

/** Creates the test table with a plain signed-less JSON request (dynalite does not check signatures). */
async function createTable(url: string): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'DynamoDB_20120810.CreateTable',
      authorization: 'AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
      'x-amz-date': '20200101T000000Z',
    },
    body: JSON.stringify({
      TableName: TABLE,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
    }),
  });
  if (!res.ok) throw new Error(`dynalite CreateTable failed: ${res.status} ${await res.text()}`);
}
