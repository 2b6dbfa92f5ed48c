// End-to-end: resource plugins in a real `node --require @xray/agent` service. A local stand-in for
// IMDS and the ECS metadata endpoint v4 (127.0.0.1), a temp Beanstalk environment file, fake
// Kubernetes service-account files. Segments must carry `origin` and aws.<plugin> once the plugins
// answered; the agent's own metadata calls are never traced; failures stay silent.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startUdpDaemon, type UdpDaemon, type XrayDocument } from '../helpers/udp-daemon';
import { spawnApp, runToExit, httpRequest, type RunningApp } from '../helpers/spawn-app';
import { startMetadataServer, ECS_CONTAINER, type MetadataServer } from '../helpers/metadata-server';

const ALWAYS = JSON.stringify({ version: 2, default: { fixed_target: 0, rate: 1 } });

let daemon: UdpDaemon;
let meta: MetadataServer;
let tmp: string;
let ebFile: string;
let saDir: string;

before(async () => {
  daemon = await startUdpDaemon();
  meta = await startMetadataServer();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-plugins-e2e-'));
  ebFile = path.join(tmp, 'environment.conf');
  fs.writeFileSync(ebFile, JSON.stringify({ deployment_id: 12, version_label: 'orders-v12', environment_name: 'orders-prod' }));
  saDir = path.join(tmp, 'serviceaccount');
  fs.mkdirSync(saDir);
  fs.writeFileSync(path.join(saDir, 'token'), 'eyJhbGciOiJSUzI1NiJ9.fake.token');
  fs.writeFileSync(path.join(saDir, 'namespace'), 'orders');
});
after(async () => {
  await daemon.close();
  await meta.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Paths that exist nowhere: `auto` must find nothing there. */
function nothingAround(): Record<string, string> {
  return {
    AWS_XRAY_ELASTIC_BEANSTALK_CONFIG_FILE: path.join(tmp, 'no-such.conf'),
    AWS_XRAY_EKS_SERVICE_ACCOUNT_DIR: path.join(tmp, 'no-such-dir'),
  };
}

async function withApp(env: Record<string, string>, fn: (app: RunningApp) => Promise<void>): Promise<RunningApp> {
  const app = await spawnApp({
    script: 'http-app.js',
    env: { AWS_XRAY_DAEMON_ADDRESS: daemon.address, AWS_XRAY_SAMPLING_RULES: ALWAYS, AWS_XRAY_CENTRALIZED_SAMPLING: 'false', ...env },
  });
  try {
    await fn(app);
  } finally {
    await app.stop();
  }
  return app;
}

/** Requests /hello until a segment satisfies `done` (plugins answer asynchronously), returns it. */
async function segmentWhen(app: RunningApp, done: (seg: XrayDocument) => boolean, timeoutMs = 4000): Promise<XrayDocument> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    daemon.clear();
    const res = await httpRequest(app.url('/hello'));
    assert.equal(res.status, 200);
    const [seg] = await daemon.waitFor((d) => d.some((x) => x.type !== 'subsegment'), 3000);
    if (done(seg)) return seg;
    if (Date.now() > deadline) return seg;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function aws(seg: XrayDocument): Record<string, any> {
  return seg.aws as Record<string, any>;
}

test('auto + EC2 named: every plugin fills its block, origin is the most specific (Elastic Beanstalk)', async () => {
  meta.requests.length = 0;
  Object.assign(meta.state, { token: 'ok', v1: true, document: 'ok', ecs: 'ok' });
  await withApp(
    {
      AWS_XRAY_PLUGINS: 'auto,EC2',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: meta.url,
      ECS_CONTAINER_METADATA_URI_V4: meta.ecsUri,
      AWS_XRAY_ELASTIC_BEANSTALK_CONFIG_FILE: ebFile,
      AWS_XRAY_EKS_SERVICE_ACCOUNT_DIR: saDir,
      AWS_XRAY_EKS_CLUSTER_NAME: 'orders-cluster',
    },
    async (app) => {
      const seg = await segmentWhen(app, (s) => ['ec2', 'ecs', 'eks', 'elastic_beanstalk'].every((k) => aws(s)?.[k] !== undefined));
      assert.equal(seg.origin, 'AWS::ElasticBeanstalk::Environment');
      const a = aws(seg);
      assert.equal(a.xray.sdk, 'X-Ray for Node.js');
      assert.deepEqual(a.ec2, { instance_id: 'i-0123456789abcdef0', instance_size: 'm5.large', ami_id: 'ami-0abcdef1234567890', availability_zone: 'eu-west-1b' });
      assert.deepEqual(a.elastic_beanstalk, { environment_name: 'orders-prod', version_label: 'orders-v12', deployment_id: 12 });
      assert.equal(a.eks.pod, os.hostname());
      assert.equal(a.eks.cluster_name, 'orders-cluster');
      assert.deepEqual(a.ecs, {
        container: os.hostname(),
        container_id: ECS_CONTAINER.DockerId,
        container_arn: ECS_CONTAINER.ContainerARN,
        task_arn: 'arn:aws:ecs:eu-west-1:123456789012:task/prod/cd189a933e5849daa93386466019ab50',
        task_family: 'orders',
        cluster_arn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/prod',
        availability_zone: 'eu-west-1a',
        launch_type: 'fargate',
      });
      assert.deepEqual(a.cloudwatch_logs, [{ log_group: '/ecs/orders', arn: 'arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/orders' }]);
      assert.equal(seg.subsegments, undefined, "the agent's own metadata calls are not traced");
      // Still there on the next request (one shared block).
      const again = await segmentWhen(app, () => true);
      assert.deepEqual(again.aws, seg.aws);
      assert.equal(again.origin, seg.origin);
    },
  );
  assert.deepEqual(
    meta.requests.filter((r) => r.path.startsWith('/latest')).map((r) => `${r.method} ${r.path}`),
    ['PUT /latest/api/token', 'GET /latest/dynamic/instance-identity/document'],
    'IMDS asked once, at start',
  );
});

test('ECS alone (auto): origin AWS::ECS::Container; IMDS never called in auto mode', async () => {
  meta.requests.length = 0;
  await withApp({ ...nothingAround(), ECS_CONTAINER_METADATA_URI_V4: meta.ecsUri, AWS_EC2_METADATA_SERVICE_ENDPOINT: meta.url }, async (app) => {
    const seg = await segmentWhen(app, (s) => s.origin !== undefined);
    assert.equal(seg.origin, 'AWS::ECS::Container');
    assert.deepEqual(Object.keys(aws(seg)).sort(), ['cloudwatch_logs', 'ecs', 'xray']);
  });
  assert.ok(!meta.requests.some((r) => r.path.startsWith('/latest')));
  assert.deepEqual(meta.requests.map((r) => r.path).sort(), ['/ecs/v4', '/ecs/v4/task']);
});

test('EKS alone (auto, service-account token present): origin AWS::EKS::Container, pod and cluster', async () => {
  await withApp({ ...nothingAround(), AWS_XRAY_EKS_SERVICE_ACCOUNT_DIR: saDir, AWS_XRAY_EKS_CLUSTER_NAME: 'k' }, async (app) => {
    const seg = await segmentWhen(app, (s) => s.origin !== undefined);
    assert.equal(seg.origin, 'AWS::EKS::Container');
    assert.equal(aws(seg).eks.pod, os.hostname());
    assert.equal(aws(seg).eks.cluster_name, 'k');
  });
});

test('EC2 named, IMDSv2 refused: IMDSv1 fallback gives aws.ec2 and origin AWS::EC2::Instance', async () => {
  meta.requests.length = 0;
  Object.assign(meta.state, { token: 'refuse', v1: true, document: 'ok' });
  await withApp({ ...nothingAround(), AWS_XRAY_PLUGINS: 'EC2', AWS_EC2_METADATA_SERVICE_ENDPOINT: meta.url }, async (app) => {
    const seg = await segmentWhen(app, (s) => s.origin !== undefined);
    assert.equal(seg.origin, 'AWS::EC2::Instance');
    assert.equal(aws(seg).ec2.instance_id, 'i-0123456789abcdef0');
  });
  assert.deepEqual(
    meta.requests.map((r) => [r.method, r.token]),
    [
      ['PUT', undefined],
      ['GET', undefined],
    ],
  );
  Object.assign(meta.state, { token: 'ok' });
});

test('nothing detected, or every plugin failing: no origin, only aws.xray, no log line at the default level', async () => {
  // auto with nothing around (the test machine itself is neither ECS, EKS nor Beanstalk).
  const quiet = await withApp({ ...nothingAround() }, async (app) => {
    await new Promise((r) => setTimeout(r, 150));
    const seg = await segmentWhen(app, () => true);
    assert.equal(seg.origin, undefined);
    assert.deepEqual(Object.keys(aws(seg)), ['xray']);
  });
  assert.equal(quiet.stderr, '');

  // Everything named and everything broken: ECS answers 500, IMDS has no listener, the Beanstalk
  // file is not JSON.
  const bad = path.join(tmp, 'broken.conf');
  fs.writeFileSync(bad, '{"environment_name": ');
  const closed = await startMetadataServer();
  await closed.close();
  Object.assign(meta.state, { ecs: 'error' });
  const failing = {
    ...nothingAround(),
    AWS_XRAY_PLUGINS: 'EC2,ECS,ElasticBeanstalk',
    AWS_EC2_METADATA_SERVICE_ENDPOINT: closed.url,
    ECS_CONTAINER_METADATA_URI_V4: meta.ecsUri,
    AWS_XRAY_ELASTIC_BEANSTALK_CONFIG_FILE: bad,
  };
  const app = await withApp(failing, async (a) => {
    await new Promise((r) => setTimeout(r, 300));
    const seg = await segmentWhen(a, () => true);
    assert.equal(seg.origin, undefined);
    assert.deepEqual(Object.keys(aws(seg)), ['xray']);
  });
  assert.equal(app.stderr, '', 'failing plugins are silent at the default log level');

  // At debug: one line per failed plugin.
  const dbg = await withApp({ ...failing, AWS_XRAY_LOG_LEVEL: 'debug' }, async () => {
    await new Promise((r) => setTimeout(r, 300));
  });
  const lines = dbg.stderr.split('\n').filter((l) => l.includes('found nothing'));
  assert.equal(lines.length, 3, dbg.stderr);
  Object.assign(meta.state, { ecs: 'ok' });
});

test('a hanging IMDS does not delay the first request, and the process still exits on its own', async () => {
  Object.assign(meta.state, { token: 'hang', document: 'hang' });
  await withApp({ ...nothingAround(), AWS_XRAY_PLUGINS: 'EC2', AWS_EC2_METADATA_SERVICE_ENDPOINT: meta.url }, async (app) => {
    const t0 = performance.now();
    const res = await httpRequest(app.url('/hello'));
    assert.equal(res.status, 200);
    assert.ok(performance.now() - t0 < 500, 'answered while IMDS hangs');
  });
  // A script that is done while IMDS still hangs exits at once (sockets and timers unref'd).
  const r = await runToExit({
    script: 'exit-natural.js',
    env: { ...nothingAround(), AWS_XRAY_DAEMON_ADDRESS: daemon.address, AWS_XRAY_PLUGINS: 'EC2', AWS_EC2_METADATA_SERVICE_ENDPOINT: meta.url },
  });
  assert.equal(r.code, 0);
  assert.ok(r.durationMs < 900, `exited after ${r.durationMs} ms, not after the IMDS timeout`);
  Object.assign(meta.state, { token: 'ok', document: 'ok' });
});
