// What a resource plugin reports (spec §7): its block under `aws` and, rarely, other `aws` keys
// (ECS: `cloudwatch_logs`). The origin comes from the plugin's name (./index).

export type PluginName = 'EC2' | 'ECS' | 'ElasticBeanstalk' | 'EKS';

export interface PluginData {
  /** aws.ec2 / aws.ecs / aws.eks / aws.elastic_beanstalk */
  data: Record<string, unknown>;
  /** Other top-level `aws` keys (ECS: cloudwatch_logs). */
  extraAws?: Record<string, unknown>;
}
