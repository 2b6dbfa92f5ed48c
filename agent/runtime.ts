// The running agent, if any: the single place the manual API and the exit hooks find it.
// Kept on a global symbol so that two copies of the package in one process (a bundled copy and a
// preloaded one) share one agent instead of double-tracing.

import type { Recorder } from './recorder';
import type { UdpEmitter } from './export/udp-emitter';
import type { AgentConfig } from './config/load';

export interface AgentRuntime {
  readonly config: AgentConfig;
  readonly recorder: Recorder;
  readonly emitter: UdpEmitter;
  /** name → outcome, for the debug log and `xray-agent doctor`. */
  readonly instrumentations: Record<string, string>;
  /**
   * Lambda only: loads the user's handler wrapped (lambda/handler.mjs calls it), from this same
   * agent instance so that it shares its recorder, context and log level.
   */
  /** Called by lambda/handler.mjs with its own `import()` (for ES module handlers). */
  readonly loadLambdaHandler?: (importModule: (file: string) => Promise<unknown>) => Promise<unknown>;
}

const KEY = Symbol.for('@xray/agent.runtime');

type Holder = { [KEY]?: AgentRuntime | { off: string } };

export function currentAgent(): AgentRuntime | undefined {
  const v = (globalThis as Holder)[KEY];
  return v !== undefined && !('off' in v) ? v : undefined;
}

/** True once any copy of the agent has tried to start in this process (on or off). */
export function startAttempted(): boolean {
  return (globalThis as Holder)[KEY] !== undefined;
}

export function setAgent(value: AgentRuntime | { off: string }): void {
  Object.defineProperty(globalThis, KEY, { value, configurable: true, enumerable: false, writable: true });
}

/** Why the agent is off, if it tried to start and stayed off. */
export function offReason(): string | undefined {
  const v = (globalThis as Holder)[KEY] as { off?: string } | undefined;
  return typeof v?.off === 'string' ? v.off : undefined;
}
