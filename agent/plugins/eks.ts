// EKS plugin (spec §7.4): `pod` = the hostname (Kubernetes names a pod's hostname after the pod),
// `container_id` from the cgroup / mount table, `cluster_name` from configuration
// (AWS_XRAY_EKS_CLUSTER_NAME). The Java SDK reads the cluster name from the CloudWatch Container
// Insights config map through the Kubernetes API; that needs a TLS call to the API server and RBAC
// on another namespace, so the agent asks for it in configuration instead.

import type { PluginData } from './types';

export async function eksPlugin(
  hostname: string,
  clusterName: string | undefined,
  containerId: () => Promise<string | undefined>,
): Promise<PluginData | undefined> {
  const data: Record<string, unknown> = { pod: hostname };
  if (clusterName !== undefined) data.cluster_name = clusterName;
  const id = await containerId();
  if (id !== undefined) data.container_id = id;
  return { data };
}
