// HTTP connections the agent itself makes (sampling polls to the daemon, resource metadata
// endpoints) go through an http.Agent carrying this mark; the HTTP client instrumentation skips
// them, so the agent never traces its own traffic.

import type { Agent } from 'node:http';

export const AGENT_OWN = Symbol.for('@xray/agent.ownHttpAgent');

/** A keep-alive-free, unref'd-socket HTTP agent whose requests are never traced. */
export function createOwnHttpAgent(): Agent {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const http = require('node:http') as typeof import('node:http');
  const agent = new http.Agent({ keepAlive: false, maxSockets: 2 });
  (agent as unknown as Record<symbol, boolean>)[AGENT_OWN] = true;
  return agent;
}

export function isOwnHttpAgent(agent: unknown): boolean {
  return agent !== null && typeof agent === 'object' && (agent as Record<symbol, unknown>)[AGENT_OWN] === true;
}
