// Helpers shared by the web framework e2e tests (express, fastify, hapi, koa, restify): comparing
// responses with and without the agent, and telling the agent's own output apart from the app's.

import * as path from 'node:path';
import type { HttpResponse } from './spawn-app';

/** Status, body and headers, minus the two that legitimately differ (trace header, date). */
export function comparable(res: HttpResponse): unknown {
  const headers = { ...res.headers };
  delete headers['x-amzn-trace-id'];
  delete headers.date;
  return { status: res.status, body: res.body, headers };
}

/** The agent's log lines (pino JSON on stderr). */
export function agentLogLines(stderr: string): Array<{ level: number; msg: string }> {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes('"@xray/agent"'))
    .map((l) => JSON.parse(l) as { level: number; msg: string });
}

/**
 * A stack frame of the agent's own code (a wrapped function is one more frame in the app's
 * error stacks): the bundle dist/agent.js or a compiled instrumentation module.
 */
export function isAgentStackFrame(line: string): boolean {
  return line.includes(`${path.sep}dist${path.sep}agent.js:`) || line.includes(`${path.sep}dist${path.sep}instrumentations${path.sep}`);
}
