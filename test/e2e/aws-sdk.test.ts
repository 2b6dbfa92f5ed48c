// AWS SDK calls end to end, both generations: aws-sdk v2 and the v3 clients (plus lib-dynamodb),
// CommonJS and ESM fixtures, the versions of test/versions.json, against real endpoints on loopback
// (dynalite, s3rver, and test/helpers/aws-endpoint for SQS / SNS / Lambda). Each call is made from
// inside a traced request; asserts exactly one `aws` subsegment per call with its fields
// (operation, region, request id, retries, whitelisted resources, status and content length,
// flags, remote cause), the trace header each attempt carried into "AWS", and that the app saw
// exactly what it sees without the agent.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startUdpDaemon, type UdpDaemon, type XrayDocument, type XrayEntity } from '../helpers/udp-daemon';
import { spawnApp, httpRequest, type Loader, type RunningApp } from '../helpers/spawn-app';
import { startAwsServices, BUCKET, TABLE, type AwsServices } from '../helpers/aws-services';
import { installVersion, versionsUnderTest } from '../helpers/versions';

const ALWAYS = JSON.stringify({ version: 2, default: { fixed_target: 0, rate: 1 } });
const ID_RE = /^[0-9a-f]{16}$/;

let daemon: UdpDaemon;
let aws: AwsServices;
before(async () => {
  daemon = await startUdpDaemon();
  aws = await startAwsServices();
});
after(async () => {
  await daemon.close();
  await aws.close();
});

type Generation = 'v2' | 'v3';

interface Expected {
  name: string;
  operation: string;
  status: number;
  /** aws.* fields beyond operation/region/request_id/retries. */
  fields: Record<string, unknown>;
  retries?: number;
  error?: boolean;
  throttle?: boolean;
  /** Exception type(s) accepted for the cause (query and JSON protocols name throttling differently). */
  cause?: string[];
  id2?: boolean;
}

/** One operation of the fixtures (test/fixtures/aws/calls-v*.js) and the subsegments it must produce. */
interface Op {
  op: string;
  generations: Generation[];
  expect: (id: string) => Expected[];
}

const queueUrl = (name: string): string => aws.endpoint.queueUrl(name);

const OPS: Op[] = [
  { op: 'ddbPut', generations: ['v2', 'v3'], expect: () => [{ name: 'DynamoDB', operation: 'PutItem', status: 200, fields: { table_name: TABLE } }] },
  {
    op: 'ddbGetMissing',
    generations: ['v2', 'v3'],
    expect: () => [{ name: 'DynamoDB', operation: 'GetItem', status: 400, fields: { table_name: 'missing-table' }, error: true, cause: ['ResourceNotFoundException'] }],
  },
  { op: 'ddbDocument', generations: ['v2', 'v3'], expect: () => [{ name: 'DynamoDB', operation: 'PutItem', status: 200, fields: { table_name: TABLE } }] },
  { op: 'ddbAggregated', generations: ['v3'], expect: () => [{ name: 'DynamoDB', operation: 'PutItem', status: 200, fields: { table_name: TABLE } }] },
  { op: 'ddbCallback', generations: ['v3'], expect: () => [{ name: 'DynamoDB', operation: 'PutItem', status: 200, fields: { table_name: TABLE } }] },
  { op: 'ddbSend', generations: ['v2'], expect: () => [{ name: 'DynamoDB', operation: 'PutItem', status: 200, fields: { table_name: TABLE } }] },
  {
    op: 's3Put',
    generations: ['v2', 'v3'],
    expect: (id) => [{ name: 'S3', operation: 'PutObject', status: 200, fields: { bucket_name: BUCKET, key: `k/${id}` }, id2: true }],
  },
  { op: 'sqsSend', generations: ['v2', 'v3'], expect: () => [{ name: 'SQS', operation: 'SendMessage', status: 200, fields: { queue_url: queueUrl('orders') } }] },
  {
    op: 'sqsBatch',
    generations: ['v2', 'v3'],
    expect: () => [{ name: 'SQS', operation: 'SendMessageBatch', status: 200, fields: { queue_url: queueUrl('orders'), message_count: 2, successful_count: 2 } }],
  },
  {
    op: 'sqsThrottle',
    generations: ['v2', 'v3'],
    expect: () => [
      { name: 'SQS', operation: 'SendMessage', status: 400, fields: { queue_url: queueUrl('throttle-q') }, retries: 1, error: true, throttle: true, cause: ['ThrottlingException', 'Throttling'] },
    ],
  },
  {
    op: 'snsPublish',
    generations: ['v2', 'v3'],
    expect: () => [{ name: 'SNS', operation: 'Publish', status: 200, fields: { topic_arn: 'arn:aws:sns:us-east-1:123456789012:orders-topic' } }],
  },
  { op: 'lambdaInvoke', generations: ['v2', 'v3'], expect: () => [{ name: 'Lambda', operation: 'Invoke', status: 200, fields: { function_name: 'fn', status_code: 200 } }] },
  {
    op: 'lambdaFlaky',
    generations: ['v2', 'v3'],
    expect: (id) => [{ name: 'Lambda', operation: 'Invoke', status: 200, fields: { function_name: `flaky-${id}`, status_code: 200 }, retries: 1 }],
  },
  {
    op: 'lambdaThrottle',
    generations: ['v2', 'v3'],
    expect: () => [
      { name: 'Lambda', operation: 'Invoke', status: 429, fields: { function_name: 'throttle-fn' }, error: true, throttle: true, cause: ['TooManyRequestsException'] },
    ],
  },
  {
    op: 'parallel',
    generations: ['v2', 'v3'],
    expect: () => [
      { name: 'DynamoDB', operation: 'PutItem', status: 200, fields: { table_name: TABLE } },
      { name: 'SQS', operation: 'SendMessage', status: 200, fields: { queue_url: queueUrl('orders') } },
    ],
  },
  { op: 'presign', generations: ['v2'], expect: () => [] },
];

const FIXTURES: Record<Generation, Array<[Loader, string]>> = {
  v2: [
    ['require', 'aws/app-v2.js'],
    ['import', 'aws/app-v2.mjs'],
  ],
  v3: [
    ['require', 'aws/app-v3.js'],
    ['import', 'aws/app-v3.mjs'],
  ],
};

const MODULE: Record<Generation, string> = { v2: 'aws-sdk', v3: '@aws-sdk/client-dynamodb' };

let traceCounter = 0;
function newRoot(): string {
  traceCounter += 1;
  return `1-5759e988-${(0xa75000000 + traceCounter).toString(16).padStart(24, '0')}`;
}

let runCounter = 0;
/** Unique per call across runs (flaky functions fail once per name). */
function newId(): string {
  runCounter += 1;
  return `${process.pid}-${runCounter}`;
}

function env(nodeModules: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...aws.env,
    XRAY_TEST_NODE_MODULES: nodeModules,
    AWS_XRAY_DAEMON_ADDRESS: daemon.address,
    AWS_XRAY_SAMPLING_RULES: ALWAYS,
    AWS_XRAY_CENTRALIZED_SAMPLING: 'false',
    AWS_XRAY_LOG_LEVEL: 'warn',
    // The v2 end-of-support and v3 Node-version notices are noise in stderr checks.
    NODE_NO_WARNINGS: '1',
    ...extra,
  };
}

/** Every X-Amzn-Trace-Id the local endpoints received whose Parent is `id`. */
function headersFor(id: string): string[] {
  return [
    ...aws.dynamodb.requests.map((r) => r.traceHeader),
    ...aws.s3.requests.map((r) => r.traceHeader),
    ...aws.endpoint.requests.map((r) => r.traceHeader),
  ].filter((h): h is string => h !== undefined && h.includes(`Parent=${id}`));
}

interface Outcome {
  ok?: unknown;
  error?: unknown;
  mutated?: boolean;
}

async function call(app: RunningApp, op: string, id: string, root: string, sampled = '1'): Promise<Outcome> {
  const res = await httpRequest(app.url(`/call?op=${op}&id=${encodeURIComponent(id)}`), {
    headers: { 'x-amzn-trace-id': `Root=${root};Parent=53995c3f42cd8ad8;Sampled=${sampled}` },
    timeoutMs: 20_000,
  });
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body) as Outcome;
}

async function segmentOf(root: string): Promise<XrayDocument> {
  const docs = await daemon.waitFor((d) => d.some((x) => x.trace_id === root && x.type !== 'subsegment'), 10_000);
  assert.deepEqual(
    docs.filter((d) => d.trace_id === root && d.type === 'subsegment'),
    [],
    'no independently sent subsegments',
  );
  return docs.find((d) => d.trace_id === root && d.type !== 'subsegment')!;
}

function assertSubsegment(sub: XrayEntity, want: Expected, root: string, at: string): void {
  const a = sub.aws as Record<string, unknown>;
  assert.equal(sub.name, want.name, `${at}: name`);
  assert.equal(sub.namespace, 'aws', at);
  assert.match(sub.id, ID_RE);
  assert.equal(a.operation, want.operation, `${at}: operation`);
  assert.equal(a.region, 'us-east-1', `${at}: region`);
  assert.equal(typeof a.request_id, 'string', `${at}: request_id`);
  assert.ok((a.request_id as string).length > 0, at);
  assert.equal(a.retries, want.retries ?? 0, `${at}: retries`);
  for (const [k, v] of Object.entries(want.fields)) assert.deepEqual(a[k], v, `${at}: aws.${k}`);
  if (want.id2) assert.equal(typeof a.id_2, 'string', `${at}: id_2`);
  assert.equal(sub.http?.response?.status, want.status, `${at}: status`);
  assert.equal(typeof sub.http?.response?.content_length, 'number', `${at}: content_length`);
  assert.equal(sub.error, want.error, `${at}: error`);
  assert.equal(sub.throttle, want.throttle, `${at}: throttle`);
  assert.equal(sub.fault, undefined, `${at}: no fault (4xx and successes)`);
  if (want.cause) {
    const ex = typeof sub.cause === 'object' ? sub.cause.exceptions?.[0] : undefined;
    assert.ok(ex && want.cause.includes(ex.type ?? ''), `${at}: cause ${JSON.stringify(sub.cause)?.slice(0, 300)}`);
    assert.equal(ex!.remote, true, `${at}: remote cause`);
  } else {
    assert.equal(sub.cause, undefined, at);
  }
  assert.equal(typeof sub.end_time, 'number', `${at}: closed`);
  // Every attempt carried this trace, with this subsegment as Parent, one header value each.
  const seen = headersFor(sub.id);
  assert.equal(seen.length, (want.retries ?? 0) + 1, `${at}: one request per attempt reached the endpoint`);
  for (const h of seen) assert.equal(h, `Root=${root};Parent=${sub.id};Sampled=1`, `${at}: header`);
}

/** Runs every op of `generation` once on `app`; returns what the app saw, per op. */
async function checkOps(app: RunningApp, generation: Generation, label: string): Promise<Record<string, Outcome>> {
  const outcomes: Record<string, Outcome> = {};
  for (const o of OPS.filter((x) => x.generations.includes(generation))) {
    const at = `${label} ${o.op}`;
    const id = newId();
    const root = newRoot();
    const outcome = await call(app, o.op, id, root);
    outcomes[o.op] = outcome;
    assert.equal(outcome.mutated, undefined, `${at}: params objects unchanged`);
    const seg = await segmentOf(root);
    const subs = seg.subsegments ?? [];
    const want = o.expect(id);
    assert.equal(subs.length, want.length, `${at}: exactly one subsegment per AWS call, none from the HTTP layer: ${JSON.stringify(subs.map((s) => s.name))}`);
    for (const w of want) {
      const sub = subs.find((s) => s.name === w.name && (s.aws as Record<string, unknown>).operation === w.operation);
      assert.ok(sub, `${at}: a ${w.name} ${w.operation} subsegment`);
      assertSubsegment(sub, w, root, at);
    }
    assert.equal(seg.fault, undefined, `${at}: the app answered 200`);
  }
  return outcomes;
}

for (const generation of ['v2', 'v3'] as const) {
  for (const version of versionsUnderTest(MODULE[generation])) {
    test(`AWS SDK ${generation} ${MODULE[generation]}@${version}: subsegments, headers, results as without the agent`, async () => {
      const nodeModules = installVersion(MODULE[generation], version);

      // Baseline: the same calls without the agent.
      // The fixture imports @xray/agent, and an import starts the agent: off, explicitly.
      const plain = await spawnApp({ script: FIXTURES[generation][0][1], loader: 'none', env: { ...env(nodeModules), AWS_XRAY_SDK_ENABLED: 'false' } });
      let baseline: Record<string, Outcome>;
      try {
        baseline = {};
        for (const o of OPS.filter((x) => x.generations.includes(generation))) {
          baseline[o.op] = await call(plain, o.op, newId(), newRoot());
        }
      } finally {
        await plain.stop();
      }

      for (const [loader, script] of FIXTURES[generation]) {
        const label = `${generation}@${version} ${loader}`;
        const before = aws.endpoint.requests.length;
        const app = await spawnApp({ script, loader, env: env(nodeModules, { STARTUP_CALL: '1' }) });
        try {
          // A call outside any request: not traced, no header sent.
          const startup = aws.endpoint.requests.slice(before).filter((r) => r.resource === 'startup-fn');
          assert.equal(startup.length, 1, `${label}: the start-up call reached the endpoint`);
          assert.equal(startup[0]!.traceHeader, undefined, `${label}: no header outside a segment`);

          const outcomes = await checkOps(app, generation, label);
          // Outcomes are summaries (result keys, status, attempts; error class, name, message, …),
          // free of the ids endpoints make up, so two runs compare equal.
          assert.deepEqual(outcomes, baseline, `${label}: the app sees what it sees without the agent`);

          // Unsampled: no document, and the header still carries the trace with Sampled=0.
          const root = newRoot();
          const beforeDdb = aws.dynamodb.requests.length;
          await call(app, 'ddbPut', newId(), root, '0');
          const sent = aws.dynamodb.requests.slice(beforeDdb).map((r) => r.traceHeader);
          assert.equal(sent.length, 1);
          assert.match(sent[0] ?? '', new RegExp(`^Root=${root};Parent=[0-9a-f]{16};Sampled=0$`), `${label}: unsampled header`);

          // The presigned URL (v2) was built without any request to S3.
          assert.equal(aws.s3.requests.filter((r) => r.what.includes('GET')).length, 0, `${label}: presign sends nothing`);
          assert.doesNotMatch(app.stderr, /@xray\/agent|instrumentation/, `${label}: no agent warnings`);
        } finally {
          await app.stop();
        }
      }
    });
  }
}

test('awsWhitelist replaces the built-in whitelist; a bad one is reported once and the built-in one used', async () => {
  const version = versionsUnderTest(MODULE.v3).at(-1)!;
  const nodeModules = installVersion(MODULE.v3, version);
  const custom = JSON.stringify({ services: { dynamodb: { operations: { putItem: { request_parameters: ['ReturnValues', 'TableName'], request_descriptors: { Item: { get_keys: true, rename_to: 'attributes' } } } } } } });
  for (const [whitelist, expectWarning] of [
    [custom, false],
    ['/nonexistent/whitelist.json', true],
  ] as const) {
    const app = await spawnApp({ script: FIXTURES.v3[0][1], env: env(nodeModules, { AWS_XRAY_AWS_WHITELIST: whitelist }) });
    try {
      const root = newRoot();
      await call(app, 'ddbPut', newId(), root);
      const ddb = (await segmentOf(root)).subsegments![0]!.aws as Record<string, unknown>;
      const sqsRoot = newRoot();
      await call(app, 'sqsSend', newId(), sqsRoot);
      const sqs = (await segmentOf(sqsRoot)).subsegments![0]!.aws as Record<string, unknown>;
      if (expectWarning) {
        assert.equal(ddb.table_name, TABLE, 'built-in whitelist');
        assert.equal(sqs.queue_url, queueUrl('orders'));
        const warnings = app.stderr.split('\n').filter((l) => l.includes('awsWhitelist file'));
        assert.equal(warnings.length, 1, app.stderr);
        assert.match(warnings[0]!, /nonexistent\/whitelist\.json.*using the built-in AWS whitelist/);
      } else {
        assert.equal(ddb.table_name, TABLE);
        assert.deepEqual(ddb.attributes, ['id', 'n']);
        assert.equal(sqs.queue_url, undefined, 'the replacement has no sqs entry');
        assert.equal(sqs.operation, 'SendMessage');
      }
    } finally {
      await app.stop();
    }
  }
});
