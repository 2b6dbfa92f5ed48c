// The AWS span builder (agent/spans/aws.ts; spec §8.1–8.3, DESIGN §6.3–6.5) and the whitelist
// (agent/spans/aws-whitelist.ts): names, snake_case, whitelist shapes and descriptors, flags and
// cause per outcome, retries = attempts − 1, the trace header, and the claim that keeps the HTTP
// layer from recording an AWS call's requests a second time.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AwsSpans } from '../../agent/spans/aws';
import { HttpClientSpans } from '../../agent/spans/http-client';
import { compileWhitelist, loadWhitelist, snakeCase, type CompiledWhitelist } from '../../agent/spans/aws-whitelist';
import builtInDocument from '../../agent/spans/aws-whitelist.json';
import type { Segment, Subsegment } from '../../agent/model/entity';
import { log } from '../../agent/log';
import { inProcessRecorder } from '../helpers/in-process-recorder';

before(() => log.setLevel('silent'));

function setup(sampled = true, whitelist?: unknown) {
  const { recorder } = inProcessRecorder(sampled);
  const http = new HttpClientSpans(recorder, { captureQueryString: false, downstreamTraced: false });
  let loads = 0;
  const aws = new AwsSpans(recorder, http, {
    loadWhitelist: () => {
      loads++;
      return (whitelist === undefined ? loadWhitelist(undefined, '/').whitelist : compileWhitelist(whitelist)) as CompiledWhitelist;
    },
  });
  return { recorder, http, aws, loads: () => loads };
}

function fields(sub: Subsegment | undefined): Record<string, any> {
  return JSON.parse(JSON.stringify(sub)) as Record<string, any>;
}

test('snakeCase: the Python SDK algorithm keeps acronyms together (spec §8.2)', () => {
  const cases: Array<[string, string]> = [
    ['TableName', 'table_name'],
    ['QueueUrl', 'queue_url'],
    ['QueueOwnerAWSAccountId', 'queue_owner_aws_account_id'],
    ['IPAddress', 'ip_address'],
    ['StreamARN', 'stream_arn'],
    ['ConsumedCapacity', 'consumed_capacity'],
    ['Key', 'key'],
    ['ListObjectsV2', 'list_objects_v2'],
  ];
  for (const [name, snake] of cases) assert.equal(snakeCase(name), snake, name);
});

test('serviceName: v3 client spelling from any SDK service id', () => {
  const { aws } = setup();
  assert.equal(aws.serviceName('DynamoDB'), 'DynamoDB');
  assert.equal(aws.serviceName('S3'), 'S3');
  assert.equal(aws.serviceName('CloudWatch Logs'), 'CloudWatchLogs');
  assert.equal(aws.serviceName('Elastic Load Balancing v2'), 'ElasticLoadBalancingV2');
  assert.equal(aws.serviceName('SageMaker Runtime'), 'SageMakerRuntime');
});

test('built-in whitelist: the spec §8.3 services, keyed by lower-cased v3 name and lowerCamel operation', () => {
  const { whitelist, warning } = loadWhitelist(undefined, '/');
  assert.equal(warning, undefined);
  for (const s of ['dynamodb', 'sqs', 'sns', 'lambda', 's3', 'sagemakerruntime', 'kinesis']) assert.ok(whitelist.has(s), s);
  assert.equal(whitelist.get('dynamodb')!.size, 13);
  assert.equal(whitelist.get('sqs')!.size, 17);
  assert.equal(whitelist.get('s3')!.size, 76);
  assert.equal(whitelist.get('nosuchservice'), undefined);
  assert.equal(whitelist.has('nosuchservice'), false);
  // Compiled service by service at run time: the whole built-in document must be valid.
  const all = compileWhitelist(builtInDocument);
  assert.notEqual(typeof all, 'string', String(all));
  assert.deepEqual([...(all as ReadonlyMap<string, unknown>).keys()].sort(), ['dynamodb', 'kinesis', 'lambda', 's3', 'sagemakerruntime', 'sns', 'sqs']);
  const aws: Record<string, unknown> = {};
  whitelist.get('sqs')!.get('sendMessageBatch')!.request({ QueueUrl: 'q', Entries: [{}, {}, {}] }, aws);
  whitelist.get('sqs')!.get('sendMessageBatch')!.response({ Successful: [{}], Failed: [] }, aws);
  assert.deepEqual(aws, { queue_url: 'q', message_count: 3, successful_count: 1, failed_count: 0 });
  const s3: Record<string, unknown> = {};
  whitelist.get('s3')!.get('putObject')!.request({ Bucket: 'b', Key: 'k', Body: 'secret body' }, s3);
  assert.deepEqual(s3, { key: 'k', bucket_name: 'b' });
});

test('whitelist descriptors: value, count, keys, rename; objects copied, absent params skipped', () => {
  const wl = compileWhitelist({
    services: {
      DynamoDB: {
        operations: {
          batchGetItem: {
            request_parameters: ['ReturnConsumedCapacity', 'Missing'],
            request_descriptors: { RequestItems: { map: true, get_keys: true, rename_to: 'table_names' }, Limit: {} },
            response_descriptors: { Responses: { list: true, get_count: true } },
            response_parameters: ['ConsumedCapacity'],
          },
        },
      },
    },
  }) as CompiledWhitelist;
  assert.equal(typeof wl, 'object');
  const op = wl.get('dynamodb')!.get('batchGetItem')!;
  const aws: Record<string, unknown> = {};
  const capacity = [{ TableName: 't', CapacityUnits: 1 }];
  op.request({ RequestItems: { a: {}, b: {} }, ReturnConsumedCapacity: 'TOTAL', Limit: 5 }, aws);
  op.response({ Responses: [1, 2], ConsumedCapacity: capacity }, aws);
  assert.deepEqual(aws, { return_consumed_capacity: 'TOTAL', table_names: ['a', 'b'], limit: 5, responses: 2, consumed_capacity: capacity });
  assert.notEqual(aws.consumed_capacity, capacity, 'a copy, never the response object itself');
});

test('whitelist validation: the first problem is named; a bad replacement falls back to the built-in one', () => {
  assert.equal(compileWhitelist([]), 'no "services" object');
  assert.equal(compileWhitelist({ services: { sqs: {} } }), 'services.sqs has no "operations" object');
  assert.equal(compileWhitelist({ services: { sqs: { operations: { a: 1 } } } }), 'services.sqs.operations.a is not an object');
  assert.equal(
    compileWhitelist({ services: { sqs: { operations: { a: { request_parameters: 'QueueUrl' } } } } }),
    'services.sqs.operations.a.request_parameters is not a list of names',
  );
  assert.equal(
    compileWhitelist({ services: { sqs: { operations: { a: { response_descriptors: { X: { rename_to: 3 } } } } } } }),
    'services.sqs.operations.a.response_descriptors.X.rename_to is not a name',
  );

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-wl-'));
  fs.writeFileSync(path.join(dir, 'bad.json'), '{"services": ');
  fs.writeFileSync(path.join(dir, 'wrong.json'), '{"services": {"sqs": []}}');
  fs.writeFileSync(path.join(dir, 'good.json'), '{"services": {"sqs": {"operations": {"sendMessage": {"request_parameters": ["DelaySeconds"]}}}}}');
  const bad = loadWhitelist('bad.json', dir);
  assert.match(bad.warning!, /^awsWhitelist file ".*bad\.json" cannot be used \(.*JSON.*\); using the built-in AWS whitelist$/);
  assert.equal(bad.whitelist.get('s3')!.size, 76);
  assert.match(loadWhitelist('wrong.json', dir).warning!, /is not a valid whitelist \(services\.sqs has no "operations" object\)/);
  assert.match(loadWhitelist('nope.json', dir).warning!, /cannot be used \(ENOENT/);
  const good = loadWhitelist('good.json', dir);
  assert.equal(good.warning, undefined);
  assert.ok(good.whitelist.has('sqs'));
  assert.equal(good.whitelist.has('s3'), false, 'replaces, does not merge');
  assert.match(loadWhitelist({ services: 1 }, dir).warning!, /^the inline awsWhitelist document is not a valid whitelist/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('start/end: fields, header naming the subsegment, whitelist loaded once, request params read at start', () => {
  const { recorder, aws, loads } = setup();
  const seg = recorder.startSegment({ header: { root: '1-5759e988-bd862e3fe1be46a994272793', parent: '53995c3f42cd8ad8', sampled: '1', extra: 'Lineage=a:1' } });
  const params = { TableName: 'orders', Item: { id: { S: '1' } } };
  const call = aws.start({ service: 'DynamoDB', operation: 'PutItem', region: 'eu-west-1', params }, seg);
  const sub = call.subsegment!;
  assert.equal(call.traceHeader, `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=${sub.id};Sampled=1;Lineage=a:1`);
  params.TableName = 'changed later';
  aws.end(call, { attempts: 3, status: 200, contentLength: '57', requestId: 'R1', data: { ConsumedCapacity: { CapacityUnits: 1 } } });
  const f = fields(sub);
  assert.equal(f.name, 'DynamoDB');
  assert.equal(f.namespace, 'aws');
  assert.deepEqual(f.aws, { operation: 'PutItem', region: 'eu-west-1', table_name: 'orders', request_id: 'R1', retries: 2, consumed_capacity: { CapacityUnits: 1 } });
  assert.deepEqual(f.http, { response: { status: 200, content_length: 57 } });
  assert.deepEqual([f.error, f.throttle, f.fault, f.cause], [undefined, undefined, undefined, undefined]);
  assert.equal(typeof f.end_time, 'number');
  aws.end(aws.start({ service: 'DynamoDB', operation: 'GetItem' }, seg), {});
  assert.equal(loads(), 1);
});

test('region known late, id_2, no response params on errors', () => {
  const { recorder, aws } = setup();
  const seg = recorder.startSegment({});
  const call = aws.start({ service: 'S3', operation: 'PutObject', params: { Bucket: 'b', Key: 'k' } }, seg);
  aws.end(call, { region: 'us-east-2', attempts: 1, status: 200, requestId: 'R', extendedRequestId: 'X2' });
  assert.deepEqual(fields(call.subsegment).aws, { operation: 'PutObject', key: 'k', bucket_name: 'b', region: 'us-east-2', request_id: 'R', id_2: 'X2', retries: 0 });
  const sqs = aws.start({ service: 'SQS', operation: 'SendMessage', params: { QueueUrl: 'q' } }, seg);
  aws.end(sqs, { status: 500, error: Object.assign(new Error('boom'), { name: 'InternalError' }), data: { MessageId: 'm' } });
  assert.equal(fields(sqs.subsegment).aws.message_id, undefined);
});

test('flags: 4xx error + remote cause without fault; 5xx fault; throttling by SDK verdict, name or 429; no response = fault, not remote', () => {
  const { recorder, aws } = setup();
  const seg = recorder.startSegment({});
  const outcome = (o: Parameters<AwsSpans['end']>[1]) => {
    const call = aws.start({ service: 'DynamoDB', operation: 'GetItem' }, seg);
    aws.end(call, o);
    return fields(call.subsegment);
  };
  const named = (name: string) => Object.assign(new Error(name), { name });

  const notFound = outcome({ status: 400, error: named('ResourceNotFoundException') });
  assert.deepEqual([notFound.error, notFound.throttle, notFound.fault], [true, undefined, undefined]);
  assert.equal(notFound.cause.exceptions[0].type, 'ResourceNotFoundException');
  assert.equal(notFound.cause.exceptions[0].remote, true);

  const server = outcome({ status: 503, error: named('ServiceUnavailable') });
  assert.deepEqual([server.error, server.throttle, server.fault], [undefined, undefined, true]);

  for (const o of [
    { status: 400, error: named('ProvisionedThroughputExceededException') },
    { status: 400, error: Object.assign(named('Whatever'), { code: 'Throttling' }) },
    { status: 400, error: named('SomethingNew'), throttled: true },
    { status: 429, error: named('TooManyRequestsException') },
  ]) {
    const f = outcome(o);
    assert.deepEqual([f.error, f.throttle, f.fault], [true, true, undefined], JSON.stringify(o));
  }

  const network = outcome({ attempts: 3, error: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
  assert.deepEqual([network.error, network.throttle, network.fault, network.http], [undefined, undefined, true, undefined]);
  assert.equal(network.cause.exceptions[0].remote, undefined);
  assert.equal(network.aws.retries, 2);
});

test('the HTTP layer leaves a claimed request alone until the AWS call ends', () => {
  const { recorder, aws, http } = setup();
  const seg = recorder.startSegment({});
  const call = aws.start({ service: 'SQS', operation: 'SendMessage' }, seg);
  const req = { method: 'POST', scheme: 'http', host: '127.0.0.1:4566', path: '/', existingTraceHeader: call.traceHeader };
  const claimed = http.start(req, seg);
  assert.deepEqual(claimed, { subsegment: undefined, traceHeader: undefined }, 'no subsegment, header kept as is');
  // Any other request (no header, or another parent) is recorded as usual.
  assert.notEqual(http.start({ ...req, existingTraceHeader: undefined }, seg).subsegment, undefined);
  aws.end(call, { status: 200 });
  const after = http.start(req, seg);
  assert.notEqual(after.subsegment, undefined, 'released at end');
  assert.equal((seg as Segment).subsegments!.filter((s) => s.namespace === 'aws').length, 1);
});

test('no entity: nothing recorded, no header; unsampled: header with Sampled=0 and the current entity as Parent', () => {
  const { aws } = setup();
  const none = aws.start({ service: 'SQS', operation: 'SendMessage' }, undefined);
  assert.deepEqual([none.subsegment, none.traceHeader], [undefined, undefined]);
  aws.end(none, { status: 200 });

  const { recorder: r2, aws: a2 } = setup(false);
  const seg = r2.startSegment({});
  const call = a2.start({ service: 'SQS', operation: 'SendMessage' }, seg);
  assert.equal(call.subsegment, undefined);
  assert.equal(call.traceHeader, `Root=${seg.trace_id};Parent=${seg.id};Sampled=0`);
});

test("a header the app set for another trace is kept; params getters that throw cost nothing but the fields", () => {
  const { recorder, aws } = setup();
  const seg = recorder.startSegment({});
  const theirs = aws.start({ service: 'SQS', operation: 'SendMessage', existingTraceHeader: 'Root=1-00000000-000000000000000000000000' }, seg);
  assert.equal(theirs.traceHeader, undefined);
  const params = {
    get QueueUrl(): string {
      throw new Error('getter');
    },
  };
  const call = aws.start({ service: 'SQS', operation: 'SendMessage', params }, seg);
  assert.equal(call.subsegment!.aws!.operation, 'SendMessage');
  assert.equal(call.subsegment!.aws!.queue_url, undefined);
});
