// Resource plugins (spec §7, DESIGN §5 `plugins`): where this process runs, written on every
// segment as `origin` and `aws.ec2` / `aws.ecs` / `aws.eks` / `aws.elastic_beanstalk`.
//
// They run once, at start, asynchronously: no request waits for them; segments started before a
// plugin answered simply lack its fields. Each has a total budget of 2 s; one that fails or runs out
// of time leaves its fields out and logs one debug line. `auto` (the default) only looks at what
// is cheap and local: ECS when ECS_CONTAINER_METADATA_URI_V4 is set, EKS when the service-account
// token file exists, Elastic Beanstalk when its environment file exists; EC2 needs a network call
// to a link-local address, so it runs only when named. Named plugins run without detection.
// `origin` follows the Java SDK's priority: ElasticBeanstalk > EKS > ECS > EC2.
// Plugin code (and node:http, node:os) is loaded only when a plugin actually runs.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '../log';
import type { AgentConfig } from '../config/load';
import type { MetadataRequest } from './metadata-http';
import type { PluginData, PluginName } from './types';
import { setTimeout, clearTimeout } from '../timers';

export const ORIGINS: Record<PluginName, string> = {
  ElasticBeanstalk: 'AWS::ElasticBeanstalk::Environment',
  EKS: 'AWS::EKS::Container',
  ECS: 'AWS::ECS::Container',
  EC2: 'AWS::EC2::Instance',
};

const AWS_KEYS: Record<PluginName, string> = {
  ElasticBeanstalk: 'elastic_beanstalk',
  EKS: 'eks',
  ECS: 'ecs',
  EC2: 'ec2',
};

/** Most specific first (JAVA ORIGIN_PRIORITY). */
export const PRIORITY: readonly PluginName[] = ['ElasticBeanstalk', 'EKS', 'ECS', 'EC2'];

export const PLUGIN_BUDGET_MS = 2000;

const ALIASES: Record<string, PluginName | 'auto' | 'none'> = {
  ec2: 'EC2',
  ecs: 'ECS',
  eks: 'EKS',
  elasticbeanstalk: 'ElasticBeanstalk',
  beanstalk: 'ElasticBeanstalk',
  eb: 'ElasticBeanstalk',
  auto: 'auto',
  none: 'none',
  off: 'none',
};

export interface PluginSelection {
  named: Set<PluginName>;
  auto: boolean;
  unknown: string[];
}

/**
 * `EC2,ECS` / `auto` / `auto,EC2` / `none`. Case and separators (comma, space) are free; the SDKs'
 * class names (`EC2Plugin`, `ElasticBeanstalkPlugin`) and `elastic_beanstalk` are accepted too.
 */
export function parsePlugins(value: string): PluginSelection {
  const out: PluginSelection = { named: new Set(), auto: false, unknown: [] };
  for (const raw of value.split(/[\s,]+/)) {
    if (raw === '') continue;
    const norm = raw.toLowerCase().replace(/[^a-z0-9]/g, '').replace(/plugin$/, '');
    const hit = ALIASES[norm];
    if (hit === undefined) out.unknown.push(raw);
    else if (hit === 'auto') out.auto = true;
    else if (hit !== 'none') out.named.add(hit);
  }
  return out;
}

export interface ResourceSink {
  setResource(resource: { origin?: string; aws?: Record<string, unknown> }): void;
}

export type PluginConfig = Pick<AgentConfig, 'plugins' | 'elasticBeanstalkConfigFile' | 'eksServiceAccountDir' | 'eksClusterName'>;

export interface PluginRunOptions {
  config: PluginConfig;
  env: NodeJS.ProcessEnv;
  sink: ResourceSink;
  /** Tests: the HTTP helper, /proc/self, the budget. */
  request?: MetadataRequest;
  procDir?: string;
  budgetMs?: number;
}

/** Combines what the plugins found: origin by priority, every plugin's block under `aws`. */
export function combine(found: ReadonlyMap<PluginName, PluginData>): { origin?: string; aws: Record<string, unknown> } {
  const aws: Record<string, unknown> = {};
  let origin: string | undefined;
  for (const name of PRIORITY) {
    const r = found.get(name);
    if (r === undefined) continue;
    origin ??= ORIGINS[name];
    aws[AWS_KEYS[name]] = r.data;
    if (r.extraAws !== undefined) for (const [k, v] of Object.entries(r.extraAws)) if (!(k in aws)) aws[k] = v;
  }
  return { origin, aws };
}

/**
 * Starts the enabled plugins and applies their results as they arrive. The returned promise (for
 * tests) settles when all have answered or given up; it never rejects.
 */
export async function startPlugins(opts: PluginRunOptions): Promise<Map<PluginName, PluginData>> {
  const found = new Map<PluginName, PluginData>();
  try {
    const { config, env } = opts;
    const sel = parsePlugins(config.plugins);
    if (sel.unknown.length > 0) {
      log.warn(
        `AWS_XRAY_PLUGINS / plugins: unknown plugin name(s) ${sel.unknown.map((u) => JSON.stringify(u.slice(0, 50))).join(', ')} ignored ` +
          '(known: EC2, ECS, ElasticBeanstalk, EKS, auto, none)',
      );
    }
    // In PRIORITY order. Two stat calls (microseconds) rather than async fs calls, which would
    // start libuv's thread pool at preload for nothing in the common case.
    const detected = [
      sel.named.has('ElasticBeanstalk') || (sel.auto && existsSync(config.elasticBeanstalkConfigFile)),
      sel.named.has('EKS') || (sel.auto && existsSync(join(config.eksServiceAccountDir, 'token'))),
      sel.named.has('ECS') || (sel.auto && !!env.ECS_CONTAINER_METADATA_URI_V4),
      sel.named.has('EC2'),
    ];
    const enabled = PRIORITY.filter((_, i) => detected[i]);
    if (enabled.length === 0) return found;

    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const request = opts.request ?? (require('./metadata-http') as typeof import('./metadata-http')).metadataRequest;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const hostname = (require('node:os') as typeof import('node:os')).hostname();
    let containerIdPromise: Promise<string | undefined> | undefined;
    const containerId = (): Promise<string | undefined> =>
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      (containerIdPromise ??= (require('./container-id') as typeof import('./container-id')).readContainerId(opts.procDir));

    const run = (name: PluginName): Promise<PluginData | undefined> => {
      /* eslint-disable @typescript-eslint/no-require-imports */
      switch (name) {
        case 'EC2':
          return (require('./ec2') as typeof import('./ec2')).ec2Plugin(env, request);
        case 'ECS':
          return (require('./ecs') as typeof import('./ecs')).ecsPlugin(env, request, hostname, containerId);
        case 'ElasticBeanstalk':
          return (require('./elastic-beanstalk') as typeof import('./elastic-beanstalk')).elasticBeanstalkPlugin(config.elasticBeanstalkConfigFile);
        case 'EKS':
          return (require('./eks') as typeof import('./eks')).eksPlugin(hostname, config.eksClusterName, containerId);
      }
      /* eslint-enable @typescript-eslint/no-require-imports */
    };

    const budgetMs = opts.budgetMs ?? PLUGIN_BUDGET_MS;
    await Promise.all(
      enabled.map(async (name) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no result within ${budgetMs} ms`)), budgetMs);
            timer.unref();
          });
          const result = await Promise.race([Promise.resolve().then(() => run(name)), timeout]);
          if (result === undefined) throw new Error('no usable data');
          found.set(name, result);
          const resource = combine(found);
          opts.sink.setResource(resource);
          log.debug(`resource plugin ${name}: segments now carry origin ${resource.origin}`, { [AWS_KEYS[name]]: result.data });
        } catch (err) {
          log.once(`plugin.${name}`, 'debug', `resource plugin ${name} found nothing; its fields are left out`, {
            error: err instanceof Error ? err.message : String(err),
          });
        } finally {
          if (timer !== undefined) clearTimeout(timer);
        }
      }),
    );
  } catch (err) {
    log.once('plugins.internal', 'debug', 'resource plugins failed; no resource fields', { error: String(err) });
  }
  return found;
}
