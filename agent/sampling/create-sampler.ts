// Chooses the sampler from the configuration: local rules only, or centralized rules polled from
// the daemon with the local rules as fallback (spec §4.4, §4.5). Nothing here starts I/O: the
// poller starts on the first sampling decision, so a script that serves no request never
// connects to the daemon.

import type { AgentConfig } from '../config/load';
import { createLocalSampler } from './local-sampler';
import type { Sampler } from './types';
import { setTimeout, clearTimeout } from '../timers';

export type SamplerConfig = Pick<
  AgentConfig,
  'samplingRules' | 'centralizedSampling' | 'daemon' | 'samplingRulesPollMs' | 'samplingTargetsPollMs' | 'samplingRulesTtlMs'
>;

export function createSampler(config: SamplerConfig): Sampler {
  // Built either way: it is the whole sampler when centralized sampling is off (also in Lambda,
  // where the config default turns it off), and the fallback when it is on.
  const local = createLocalSampler(config.samplingRules);
  if (!config.centralizedSampling) return local;
  // The centralized modules are loaded off the start-up path: by an unref'd timer right after
  // start, or by the first decision if that comes sooner. A short script loads none of it.
  let centralized: Sampler | undefined;
  const build = (): Sampler => (centralized ??= buildCentralized(config, local));
  const warm = setTimeout(build, 0);
  warm.unref();
  return {
    decide: (req) => (centralized ?? build()).decide(req),
    close: () => {
      clearTimeout(warm);
      centralized?.close?.();
    },
  };
}

function buildCentralized(config: SamplerConfig, local: Sampler): Sampler {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { CentralizedSampler } = require('./centralized-sampler') as typeof import('./centralized-sampler');
  const { DaemonProxyClient } = require('./daemon-proxy-client') as typeof import('./daemon-proxy-client');
  const { SamplingPoller } = require('./poller') as typeof import('./poller');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const client = new DaemonProxyClient(config.daemon.tcp);
  // The poller needs the sampler and the sampler starts the poller: the late-bound reference is
  // only read after construction, on the first decision.
  let poller: InstanceType<typeof SamplingPoller> | undefined;
  const sampler = new CentralizedSampler({
    local,
    rulesTtlMs: config.samplingRulesTtlMs,
    onFirstDecide: () => poller?.start(),
    onClose: () => poller?.stop(),
  });
  poller = new SamplingPoller(sampler, client, {
    rulesPollMs: config.samplingRulesPollMs,
    targetsPollMs: config.samplingTargetsPollMs,
  });
  return sampler;
}
