'use strict';
// CPU of one AWS subsegment in isolation, in this process: the span builder (agent/spans/aws:
// start with the whitelist applied to the params, the trace header, the HTTP claim and the HTTP
// layer's check of the SDK's request, end with the outcome) plus its share of serializing the
// segment, against a segment alone and a segment with one plain HTTP subsegment. No SDK, no
// network, so the figure is stable; bench/aws-span-cost.js and bench/aws-call.js give the
// SDK-level picture. Needs `npm run build`.
//
//   node bench/aws-subsegment.js

const path = require('node:path');
const { REPO } = require('./lib/agent-env');

const D = path.join(REPO, 'dist', 'agent');
const { Recorder } = require(path.join(D, 'recorder.js'));
const { AwsSpans } = require(path.join(D, 'spans', 'aws.js'));
const { HttpClientSpans } = require(path.join(D, 'spans', 'http-client.js'));
const { loadWhitelist } = require(path.join(D, 'spans', 'aws-whitelist.js'));
require(path.join(D, 'log.js')).log.setLevel('silent');

const recorder = new Recorder(
  { serviceName: 'svc', contextMissing: 'IGNORE_ERROR', streamingThreshold: 100, maxStackFrames: 10, maxDatagramBytes: 64512, segmentFlushTimeoutMs: 30000, maxOpenSegments: 1000, maxSubsegmentsPerSegment: 100 },
  { decide: () => ({ sampled: true }) },
  { send: () => {}, flush: () => Promise.resolve() },
);
const http = new HttpClientSpans(recorder, { captureQueryString: false, downstreamTraced: false });
const aws = new AwsSpans(recorder, http, { loadWhitelist: () => loadWhitelist(undefined, REPO).whitelist });
const params = { TableName: 'bench', Key: { id: { S: 'bench' } } };
const requestId = 'R'.repeat(52);
const data = { Item: { id: { S: 'bench' } }, $metadata: { httpStatusCode: 200, requestId, attempts: 1 } };
const sdkRequest = { method: 'POST', scheme: 'http', host: '127.0.0.1:8000', path: '/' };

function segmentOnly() {
  recorder.startSegment({ name: 'bench' }).close();
}
function awsSubsegment() {
  const s = recorder.startSegment({ name: 'bench' });
  const call = aws.start({ service: aws.serviceName('DynamoDB'), operation: 'GetItem', region: 'us-east-1', params }, s);
  http.start({ ...sdkRequest, existingTraceHeader: call.traceHeader }, s);
  aws.end(call, { region: 'us-east-1', attempts: 1, status: 200, contentLength: '43', requestId, data });
  s.close();
}
function httpSubsegment() {
  const s = recorder.startSegment({ name: 'bench' });
  const call = http.start(sdkRequest, s);
  http.response(call.subsegment, 200, 43);
  http.end(call.subsegment);
  s.close();
}

function cpuPerCall(fn, n) {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const c = process.cpuUsage(t0);
  return (c.user + c.system) / n;
}

const fns = [segmentOnly, awsSubsegment, httpSubsegment];
for (const fn of fns) cpuPerCall(fn, 50_000); // warm-up
const samples = new Map(fns.map((f) => [f, []]));
for (let round = 0; round < 7; round++) for (const fn of fns) samples.get(fn).push(cpuPerCall(fn, 100_000));
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const [seg, withAws, withHttp] = fns.map((f) => med(samples.get(f)));
console.log(`# One AWS subsegment, in process (Node ${process.version}; medians of 7 × 100,000)\n`);
console.log('| per traced unit | CPU µs |');
console.log('| --- | --- |');
console.log(`| segment alone | ${seg.toFixed(2)} |`);
console.log(`| + one aws subsegment (DynamoDB GetItem) | ${(withAws - seg).toFixed(2)} |`);
console.log(`| + one plain HTTP subsegment, for comparison | ${(withHttp - seg).toFixed(2)} |`);
