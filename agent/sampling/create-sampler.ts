// Chooses the sampler from the configuration: local rules only, or centralized rules polled from
// the daemon with the local rules as fallback (spec §4.4, §4.5). Nothing here starts I/O: the
// poller starts on the first sampling decision, so a script that serves no request never
// connects to the daemon.

import type { AgentConfig } from '../config/load';
import { CentralizedSampler } from './centralized-sampler';
import { DaemonProxyClient } from './daemon-proxy-client';
import { createLocalSampler } from './local-sampler';
import { SamplingPoller } from './poller';
import type { Sampler } from './types';

export type SamplerConfig = Pick<
  AgentConfig,
  'samplingRules' | 'centralizedSampling' | 'daemon' | 'samplingRulesPollMs' | 'samplingTargetsPollMs' | 'samplingRulesTtlMs'
>;

export function createSampler(config: SamplerConfig): Sampler {
  // Built either way: it is the whole sampler when centralized sampling is off (also in Lambda,
  // where the config default turns it off), and the fallback when it is on.
  const local = createLocalSampler(config.samplingRules);
  if (!config.centralizedSampling) return local;

  const client = new DaemonProxyClient(config.daemon.tcp);
  // The poller needs the sampler and the sampler starts the poller: the late-bound reference is
  // only read after construction, on the first decision.
  let poller: SamplingPoller | undefined;
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
