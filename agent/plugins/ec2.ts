// EC2 plugin (spec §7.1): the instance identity document from the instance metadata service.
// IMDSv2 first (PUT a session token), IMDSv1 when no token can be had (a hop limit of 1 seen from a
// container, or IMDSv2 not offered). The endpoint follows the AWS SDKs' conventions:
// AWS_EC2_METADATA_SERVICE_ENDPOINT, else AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6, else
// http://169.254.169.254; AWS_EC2_METADATA_DISABLED=true turns it off as it does for the SDKs.

import { getJson, type MetadataRequest } from './metadata-http';
import type { PluginData } from './types';

export const IMDS_DEFAULT = 'http://169.254.169.254';
export const IMDS_IPV6 = 'http://[fd00:ec2::254]';
/** Per request; the plugin runner's total budget is 2 s (spec §7.5: connect ≤ 1 s). */
const TIMEOUT_MS = 1000;

export function imdsEndpoint(env: NodeJS.ProcessEnv): string {
  const explicit = env.AWS_EC2_METADATA_SERVICE_ENDPOINT?.trim();
  if (explicit) return explicit.replace(/\/+$/, '');
  return env.AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE?.trim().toLowerCase() === 'ipv6' ? IMDS_IPV6 : IMDS_DEFAULT;
}

export function imdsDisabled(env: NodeJS.ProcessEnv): boolean {
  return env.AWS_EC2_METADATA_DISABLED?.trim().toLowerCase() === 'true';
}

async function token(request: MetadataRequest, endpoint: string): Promise<string | undefined> {
  try {
    const res = await request(`${endpoint}/latest/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
      timeoutMs: TIMEOUT_MS,
    });
    const t = res.body.trim();
    return res.status === 200 && t.length > 0 ? t : undefined;
  } catch {
    return undefined; // IMDSv1 fallback
  }
}

export async function ec2Plugin(env: NodeJS.ProcessEnv, request: MetadataRequest): Promise<PluginData | undefined> {
  if (imdsDisabled(env)) throw new Error('AWS_EC2_METADATA_DISABLED is true');
  const endpoint = imdsEndpoint(env);
  const t = await token(request, endpoint);
  const doc = await getJson(request, `${endpoint}/latest/dynamic/instance-identity/document`, {
    headers: t !== undefined ? { 'x-aws-ec2-metadata-token': t } : undefined,
    timeoutMs: TIMEOUT_MS,
  });
  return mapIdentityDocument(doc);
}

/** Identity document → aws.ec2 (DOCS / NODE / JAVA names: instance_size, not instance_type). */
export function mapIdentityDocument(doc: Record<string, unknown>): PluginData | undefined {
  if (typeof doc.instanceId !== 'string' || doc.instanceId === '') return undefined;
  const data: Record<string, unknown> = { instance_id: doc.instanceId };
  if (typeof doc.instanceType === 'string') data.instance_size = doc.instanceType;
  if (typeof doc.imageId === 'string') data.ami_id = doc.imageId;
  if (typeof doc.availabilityZone === 'string') data.availability_zone = doc.availabilityZone;
  return { data };
}
