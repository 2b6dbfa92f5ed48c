// Elastic Beanstalk plugin (spec §7.3): the environment file Beanstalk writes on its instances
// (JSON: deployment_id, version_label, environment_name), copied under the documented names.

import { readFile } from 'node:fs/promises';
import type { PluginData } from './types';

export async function elasticBeanstalkPlugin(file: string): Promise<PluginData | undefined> {
  return mapBeanstalkConfig(JSON.parse(await readFile(file, 'utf8')) as unknown);
}

export function mapBeanstalkConfig(doc: unknown): PluginData | undefined {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  const d = doc as Record<string, unknown>;
  const data: Record<string, unknown> = {};
  if (typeof d.environment_name === 'string') data.environment_name = d.environment_name;
  if (typeof d.version_label === 'string') data.version_label = d.version_label;
  if (typeof d.deployment_id === 'number' && Number.isFinite(d.deployment_id)) data.deployment_id = d.deployment_id;
  else if (typeof d.deployment_id === 'string' && /^\d+$/.test(d.deployment_id)) data.deployment_id = Number(d.deployment_id);
  return data.environment_name !== undefined ? { data } : undefined;
}
