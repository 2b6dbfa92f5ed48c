// Resource plugins (agent/plugins): parsers and mappings, and the runner against a local stand-in
// for IMDS / ECS metadata, a temp Beanstalk file and fake service-account files.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { combine, parsePlugins, startPlugins, PRIORITY, type PluginConfig } from '../../agent/plugins/index';
import { containerIdFromCgroup, containerIdFromMountinfo, readContainerId } from '../../agent/plugins/container-id';
import { imdsEndpoint, mapIdentityDocument, IMDS_DEFAULT, IMDS_IPV6 } from '../../agent/plugins/ec2';
import { mapEcsMetadata, ecsMetadataUri } from '../../agent/plugins/ecs';
import { mapBeanstalkConfig } from '../../agent/plugins/elastic-beanstalk';
import type { PluginData, PluginName } from '../../agent/plugins/types';
import { Recorder } from '../../agent/recorder';
import { TEST_RECORDER_OPTIONS } from '../helpers/in-process-recorder';
import type { Sampler, SamplingRequest } from '../../agent/sampling/types';
import { startMetadataServer, ECS_CONTAINER, ECS_TASK, IDENTITY_DOCUMENT, type MetadataServer } from '../helpers/metadata-server';

const ID = 'a'.repeat(12) + '0123456789abcdef0123456789abcdef0123456789abcdef0123';

let tmp: string;
let server: MetadataServer;
before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-plugins-'));
  server = await startMetadataServer();
});
after(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  await server.close();
});

// ---- parsing and mapping -------------------------------------------------------------------------

test('parsePlugins: names, SDK class names, auto, none, unknown', () => {
  const p = parsePlugins('EC2Plugin, ecs elastic_beanstalk,EKS');
  assert.deepEqual([...p.named].sort(), ['EC2', 'ECS', 'EKS', 'ElasticBeanstalk']);
  assert.equal(p.auto, false);
  assert.deepEqual(parsePlugins('auto').auto, true);
  const q = parsePlugins('auto,EC2,Lambda');
  assert.equal(q.auto, true);
  assert.deepEqual([...q.named], ['EC2']);
  assert.deepEqual(q.unknown, ['Lambda']);
  const n = parsePlugins('none');
  assert.equal(n.auto, false);
  assert.equal(n.named.size, 0);
});

test('container id: cgroup v1 forms, cgroup v2 mount table, nothing outside a container', () => {
  assert.equal(containerIdFromCgroup(`12:memory:/docker/${ID}\n`), ID);
  assert.equal(containerIdFromCgroup(`0::/system.slice/docker-${ID}.scope`), ID);
  assert.equal(containerIdFromCgroup(`4:cpu:/kubepods/besteffort/pod1234/cri-containerd-${ID}.scope\n3:x:/`), ID);
  assert.equal(containerIdFromCgroup('0::/\n4:memory:/process_api/b40054b22fb00c405ffc5718a423ecf1'), undefined);
  const mountinfo = `680 670 254:1 /var/lib/docker/containers/${ID}/hostname /etc/hostname rw - ext4 /dev/vda1 rw`;
  assert.equal(containerIdFromMountinfo(mountinfo), ID);
  assert.equal(containerIdFromMountinfo(`1 2 0:1 /var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/${ID}/hostname /etc/hostname`), undefined, 'the pod sandbox is not this container');
  const proc = path.join(tmp, 'proc');
  fs.mkdirSync(proc);
  fs.writeFileSync(path.join(proc, 'cgroup'), '0::/\n');
  fs.writeFileSync(path.join(proc, 'mountinfo'), mountinfo + '\n');
  return readContainerId(proc).then((id) => assert.equal(id, ID));
});

test('EC2: identity document → aws.ec2 with the documented names; endpoint from the AWS SDK variables', () => {
  assert.deepEqual(mapIdentityDocument(IDENTITY_DOCUMENT), {
    data: { instance_id: 'i-0123456789abcdef0', instance_size: 'm5.large', ami_id: 'ami-0abcdef1234567890', availability_zone: 'eu-west-1b' },
  });
  assert.equal(mapIdentityDocument({ instanceType: 'm5.large' }), undefined);
  assert.equal(imdsEndpoint({}), IMDS_DEFAULT);
  assert.equal(imdsEndpoint({ AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://10.0.0.1:8080/' }), 'http://10.0.0.1:8080');
  assert.equal(imdsEndpoint({ AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: 'IPv6' }), IMDS_IPV6);
});

test('ECS: container + task documents → aws.ecs and aws.cloudwatch_logs', () => {
  assert.deepEqual(mapEcsMetadata('ip-10-0-0-1', ECS_CONTAINER, ECS_TASK), {
    data: {
      container: 'ip-10-0-0-1',
      container_id: ECS_CONTAINER.DockerId,
      container_arn: ECS_CONTAINER.ContainerARN,
      task_arn: ECS_TASK.TaskARN,
      task_family: 'orders',
      cluster_arn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/prod',
      availability_zone: 'eu-west-1a',
      launch_type: 'fargate',
    },
    extraAws: { cloudwatch_logs: [{ log_group: '/ecs/orders', arn: 'arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/orders' }] },
  });
  // EC2 launch type: a bare cluster name becomes an ARN; no task document: labels fill in.
  const bare = mapEcsMetadata('h', { DockerId: ID }, { ...ECS_TASK, Cluster: 'default', LaunchType: 'EC2' });
  assert.equal(bare.data.cluster_arn, 'arn:aws:ecs:eu-west-1:123456789012:cluster/default');
  assert.equal(bare.data.launch_type, 'ec2');
  const noTask = mapEcsMetadata('h', { ...ECS_CONTAINER, DockerId: undefined, LogDriver: 'json-file' }, undefined, ID);
  assert.equal(noTask.data.container_id, ID);
  assert.equal(noTask.data.task_arn, ECS_TASK.TaskARN);
  assert.equal(noTask.data.availability_zone, undefined);
  assert.equal(noTask.extraAws, undefined);
  assert.equal(ecsMetadataUri({ ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/abc/' }), 'http://169.254.170.2/v4/abc');
  assert.equal(ecsMetadataUri({ ECS_CONTAINER_METADATA_URI_V4: 'not a url' }), undefined);
});

test('Elastic Beanstalk: documented names; environment_name required', () => {
  assert.deepEqual(mapBeanstalkConfig({ deployment_id: 23, version_label: 'v1.2', environment_name: 'scorekeep', other: 1 }), {
    data: { environment_name: 'scorekeep', version_label: 'v1.2', deployment_id: 23 },
  });
  assert.deepEqual(mapBeanstalkConfig({ deployment_id: '7', environment_name: 'e' })?.data, { environment_name: 'e', deployment_id: 7 });
  assert.equal(mapBeanstalkConfig({ version_label: 'v' }), undefined);
  assert.equal(mapBeanstalkConfig([1]), undefined);
});

test('combine: origin by priority ElasticBeanstalk > EKS > ECS > EC2, every block kept', () => {
  assert.deepEqual(PRIORITY, ['ElasticBeanstalk', 'EKS', 'ECS', 'EC2']);
  const found = new Map<PluginName, PluginData>([
    ['EC2', { data: { instance_id: 'i-1' } }],
    ['ECS', { data: { container: 'c' }, extraAws: { cloudwatch_logs: [] } }],
  ]);
  assert.deepEqual(combine(found), { origin: 'AWS::ECS::Container', aws: { ecs: { container: 'c' }, cloudwatch_logs: [], ec2: { instance_id: 'i-1' } } });
  found.set('ElasticBeanstalk', { data: { environment_name: 'e' } });
  assert.equal(combine(found).origin, 'AWS::ElasticBeanstalk::Environment');
  assert.deepEqual(combine(new Map()), { origin: undefined, aws: {} });
});

// ---- the runner ------------------------------------------------------------------------------------

function config(over: Partial<PluginConfig> = {}): PluginConfig {
  return {
    plugins: 'auto',
    elasticBeanstalkConfigFile: path.join(tmp, 'missing-eb.conf'),
    eksServiceAccountDir: path.join(tmp, 'missing-sa'),
    eksClusterName: undefined,
    ...over,
  };
}

function sink() {
  const calls: Array<{ origin?: string; aws?: Record<string, unknown> }> = [];
  return { calls, setResource: (r: { origin?: string; aws?: Record<string, unknown> }) => calls.push(r) };
}

test('EC2 named: IMDSv2 token then identity document with the token', async () => {
  server.requests.length = 0;
  Object.assign(server.state, { token: 'ok', v1: false, document: 'ok' });
  const s = sink();
  const found = await startPlugins({ config: config({ plugins: 'EC2' }), env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: server.url }, sink: s });
  assert.deepEqual(found.get('EC2')?.data.instance_id, 'i-0123456789abcdef0');
  assert.deepEqual(s.calls.at(-1)?.origin, 'AWS::EC2::Instance');
  assert.deepEqual(
    server.requests.map((r) => [r.method, r.path, r.ttl, r.token]),
    [
      ['PUT', '/latest/api/token', '60', undefined],
      ['GET', '/latest/dynamic/instance-identity/document', undefined, 'AQAEAFake-Token=='],
    ],
  );
});

test('EC2: no token (refused or no answer) → IMDSv1; nothing at all → no fields, no throw', async () => {
  for (const token of ['refuse', 'hang'] as const) {
    server.requests.length = 0;
    Object.assign(server.state, { token, v1: true, document: 'ok' });
    const found = await startPlugins({ config: config({ plugins: 'EC2' }), env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: server.url }, sink: sink() });
    assert.equal(found.get('EC2')?.data.instance_size, 'm5.large', token);
    assert.equal(server.requests.at(-1)?.token, undefined, `${token}: IMDSv1 GET without a token`);
  }
  Object.assign(server.state, { token: 'ok', v1: true, document: 'error' });
  const s = sink();
  const found = await startPlugins({ config: config({ plugins: 'EC2' }), env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: server.url }, sink: s });
  assert.equal(found.size, 0);
  assert.deepEqual(s.calls, [], 'a plugin that found nothing sets nothing');
  // Nobody listening.
  const closed = await startMetadataServer();
  await closed.close();
  assert.equal((await startPlugins({ config: config({ plugins: 'EC2' }), env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: closed.url }, sink: s })).size, 0);
  // AWS_EC2_METADATA_DISABLED, as for the SDKs: no request at all.
  server.requests.length = 0;
  assert.equal((await startPlugins({ config: config({ plugins: 'EC2' }), env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: server.url, AWS_EC2_METADATA_DISABLED: 'true' }, sink: s })).size, 0);
  assert.equal(server.requests.length, 0);
});

test('the budget bounds a plugin that hangs', async () => {
  Object.assign(server.state, { token: 'hang', v1: true, document: 'hang' });
  const t0 = performance.now();
  const found = await startPlugins({ config: config({ plugins: 'EC2' }), env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: server.url }, sink: sink(), budgetMs: 300 });
  const ms = performance.now() - t0;
  assert.equal(found.size, 0);
  assert.ok(ms < 900, `gave up after ${ms} ms`);
  Object.assign(server.state, { token: 'ok', document: 'ok' });
});

test('auto: ECS by its variable, EKS by the token file, Beanstalk by its file; EC2 never asked', async () => {
  server.requests.length = 0;
  Object.assign(server.state, { ecs: 'ok' });
  const eb = path.join(tmp, 'environment.conf');
  fs.writeFileSync(eb, JSON.stringify({ deployment_id: 4, version_label: 'app-v4', environment_name: 'orders-prod' }));
  const sa = path.join(tmp, 'sa');
  fs.mkdirSync(sa, { recursive: true });
  fs.writeFileSync(path.join(sa, 'token'), 'fake-token');
  const s = sink();
  const found = await startPlugins({
    config: config({ elasticBeanstalkConfigFile: eb, eksServiceAccountDir: sa, eksClusterName: 'prod-cluster' }),
    env: { ECS_CONTAINER_METADATA_URI_V4: server.ecsUri, AWS_EC2_METADATA_SERVICE_ENDPOINT: server.url },
    sink: s,
    procDir: path.join(tmp, 'no-proc'),
  });
  assert.deepEqual([...found.keys()].sort(), ['ECS', 'EKS', 'ElasticBeanstalk']);
  const last = s.calls.at(-1)!;
  assert.equal(last.origin, 'AWS::ElasticBeanstalk::Environment');
  assert.deepEqual(last.aws?.elastic_beanstalk, { environment_name: 'orders-prod', version_label: 'app-v4', deployment_id: 4 });
  assert.deepEqual(last.aws?.eks, { pod: os.hostname(), cluster_name: 'prod-cluster' });
  assert.equal((last.aws?.ecs as Record<string, unknown>).task_family, 'orders');
  assert.ok(!server.requests.some((r) => r.path.startsWith('/latest')), 'no IMDS call in auto mode');
});

test('auto with nothing around: no plugin runs, nothing is set; failures stay silent', async () => {
  const s = sink();
  assert.equal((await startPlugins({ config: config(), env: {}, sink: s })).size, 0);
  assert.deepEqual(s.calls, []);
  Object.assign(server.state, { ecs: 'error' });
  const bad = path.join(tmp, 'bad.conf');
  fs.writeFileSync(bad, '{not json');
  const found = await startPlugins({
    config: config({ elasticBeanstalkConfigFile: bad }),
    env: { ECS_CONTAINER_METADATA_URI_V4: server.ecsUri },
    sink: s,
  });
  assert.equal(found.size, 0);
  assert.deepEqual(s.calls, []);
  Object.assign(server.state, { ecs: 'ok' });
});

// ---- the recorder side: setResource ------------------------------------------------------------------

test('recorder.setResource: later segments carry origin and the plugin blocks in one shared aws object; origin is the sampling service type', () => {
  const seen: SamplingRequest[] = [];
  let ruleName: string | undefined;
  const sampler: Sampler = {
    decide: (req) => {
      seen.push({ ...req });
      return { sampled: true, ruleName };
    },
  };
  const transport = { sendWritten: () => true, flush: () => Promise.resolve() };
  const recorder = new Recorder(TEST_RECORDER_OPTIONS, sampler, transport);
  const before = recorder.startSegment({});
  assert.equal(before.origin, undefined);
  assert.deepEqual(Object.keys(before.aws ?? {}), ['xray']);
  assert.equal(seen[0].serviceType, undefined);

  recorder.setResource(combine(new Map<PluginName, PluginData>([['EC2', { data: { instance_id: 'i-1' } }]])));
  const a = recorder.startSegment({});
  const b = recorder.startSegment({});
  assert.equal(a.origin, 'AWS::EC2::Instance');
  assert.deepEqual(a.aws, { xray: before.aws?.xray, ec2: { instance_id: 'i-1' } });
  assert.equal(a.aws, b.aws, 'one object shared by every segment: no per-request merge');
  assert.deepEqual(Object.keys(before.aws ?? {}), ['xray'], 'segments started earlier keep what they had');
  assert.equal(seen.at(-1)?.serviceType, 'AWS::EC2::Instance');

  ruleName = 'checkout';
  const c = recorder.startSegment({});
  assert.equal((c.aws?.xray as Record<string, unknown>).sampling_rule_name, 'checkout');
  assert.deepEqual(c.aws?.ec2, { instance_id: 'i-1' });
  assert.equal((a.aws?.xray as Record<string, unknown>).sampling_rule_name, undefined, 'the shared block is never mutated');
  const c2 = recorder.startSegment({});
  assert.equal(c2.aws, c.aws, 'one object per rule, frozen, so its JSON is made once');
  assert.ok(Object.isFrozen(c.aws) && Object.isFrozen(c.aws?.xray));
  ruleName = 'search';
  const d = recorder.startSegment({});
  assert.equal((d.aws?.xray as Record<string, unknown>).sampling_rule_name, 'search');
  assert.notEqual(d.aws, c.aws);

  recorder.setResource(combine(new Map<PluginName, PluginData>([['EC2', { data: { instance_id: 'i-2' } }]])));
  ruleName = 'checkout';
  const e = recorder.startSegment({});
  assert.deepEqual(e.aws?.ec2, { instance_id: 'i-2' }, 'rule blocks are made again from new resource data');
  assert.equal((e.aws?.xray as Record<string, unknown>).sampling_rule_name, 'checkout');
  assert.deepEqual(c.aws?.ec2, { instance_id: 'i-1' }, 'segments started earlier keep what they had');
});
