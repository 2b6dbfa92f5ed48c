// ECS plugin (spec §7.2): `container` = the hostname (as every X-Ray SDK does); from the task
// metadata endpoint v4 (ECS_CONTAINER_METADATA_URI_V4, set by the ECS agent in every container of
// a task): container_id, container_arn, and from its /task document task_arn, task_family,
// cluster_arn, availability_zone, launch_type (the fields OTel's ECS detector reports, which the
// X-Ray exporter writes under aws.ecs). An awslogs log driver also gives aws.cloudwatch_logs.
// Without the endpoint (the plugin named explicitly outside ECS) only the hostname and the cgroup
// container id are reported, like the NODE and PY SDKs.

import { getJson, type MetadataRequest } from './metadata-http';
import type { PluginData } from './types';

const TIMEOUT_MS = 1000;

export function ecsMetadataUri(env: NodeJS.ProcessEnv): string | undefined {
  const uri = env.ECS_CONTAINER_METADATA_URI_V4?.trim();
  return uri && /^https?:\/\//.test(uri) ? uri.replace(/\/+$/, '') : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export async function ecsPlugin(
  env: NodeJS.ProcessEnv,
  request: MetadataRequest,
  hostname: string,
  containerId: () => Promise<string | undefined>,
): Promise<PluginData | undefined> {
  const data: Record<string, unknown> = { container: hostname };
  const uri = ecsMetadataUri(env);
  if (uri === undefined) {
    const id = await containerId();
    if (id !== undefined) data.container_id = id;
    return { data };
  }
  const [container, task] = await Promise.all([
    getJson(request, uri, { timeoutMs: TIMEOUT_MS }),
    getJson(request, `${uri}/task`, { timeoutMs: TIMEOUT_MS }).catch(() => undefined),
  ]);
  const cgroupId = str(container.DockerId) === undefined ? await containerId() : undefined;
  return mapEcsMetadata(hostname, container, task, cgroupId);
}

/** Container metadata (+ task metadata when it answered) → aws.ecs, aws.cloudwatch_logs. */
export function mapEcsMetadata(
  hostname: string,
  container: Record<string, unknown>,
  task: Record<string, unknown> | undefined,
  cgroupId?: string,
): PluginData {
  const data: Record<string, unknown> = { container: hostname };
  const id = str(container.DockerId) ?? cgroupId;
  if (id !== undefined) data.container_id = id;
  const containerArn = str(container.ContainerARN);
  if (containerArn !== undefined) data.container_arn = containerArn;
  const taskArn = str(task?.TaskARN) ?? str((container.Labels as Record<string, unknown> | undefined)?.['com.amazonaws.ecs.task-arn']);
  if (taskArn !== undefined) data.task_arn = taskArn;
  const family = str(task?.Family) ?? str((container.Labels as Record<string, unknown> | undefined)?.['com.amazonaws.ecs.task-definition-family']);
  if (family !== undefined) data.task_family = family;
  const cluster = str(task?.Cluster) ?? str((container.Labels as Record<string, unknown> | undefined)?.['com.amazonaws.ecs.cluster']);
  if (cluster !== undefined) {
    // The task document gives an ARN on Fargate and may give a bare name on EC2: build the ARN
    // from the task's ARN then (arn:<partition>:ecs:<region>:<account>:cluster/<name>).
    if (cluster.startsWith('arn:')) data.cluster_arn = cluster;
    else if (taskArn !== undefined && /^arn:[^:]+:ecs:[^:]*:[^:]*:/.test(taskArn)) {
      data.cluster_arn = `${taskArn.split(':').slice(0, 5).join(':')}:cluster/${cluster}`;
    }
  }
  const az = str(task?.AvailabilityZone);
  if (az !== undefined) data.availability_zone = az;
  const launchType = str(task?.LaunchType);
  if (launchType !== undefined) data.launch_type = launchType.toLowerCase();

  const out: PluginData = { data };
  const logOptions = container.LogOptions as Record<string, unknown> | undefined;
  const group = str(logOptions?.['awslogs-group']);
  const region = str(logOptions?.['awslogs-region']);
  if (container.LogDriver === 'awslogs' && group !== undefined) {
    const log: Record<string, unknown> = { log_group: group };
    const m = containerArn !== undefined ? /^arn:([^:]+):ecs:[^:]*:([^:]+):/.exec(containerArn) : null;
    if (m && region !== undefined) log.arn = `arn:${m[1]}:logs:${region}:${m[2]}:log-group:${group}`;
    out.extraAws = { cloudwatch_logs: [log] };
  }
  return out;
}
