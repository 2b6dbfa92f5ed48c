// Runs a fixture handler the way Lambda does: `node [--require <repo>/register.js]
// test/fixtures/lambda/runner.mjs` with the variables the Lambda runtime sets, and invocations
// described by a plan (see the runner's header). The runner exits right after the last result,
// as a frozen Lambda sandbox would: documents not yet handed to the socket by then are lost.

import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { repoRoot, runToExit, type RunResult } from './spawn-app';

export const TASK_ROOT = path.join(repoRoot(), 'test', 'fixtures', 'lambda', 'task');
export const RUNNER = path.join(repoRoot(), 'test', 'fixtures', 'lambda', 'runner.mjs');

export interface Invocation {
  event: unknown;
  /** The invocation's X-Amzn-Trace-Id value; null = none (tracing off, nothing upstream). */
  traceHeader: string | null;
}

export interface LambdaRunOptions {
  /** `_HANDLER`, e.g. `index.handler`. */
  handler: string;
  invocations: Invocation[];
  /** Managed Instances: all at once, trace ids from a fake awslambda.InvokeStore. */
  concurrent?: boolean;
  /** Default true: preload the agent. */
  agent?: boolean;
  daemonAddress: string;
  upstreamUrl: string;
  env?: Record<string, string>;
  nodeArgs?: string[];
}

export interface InitLine {
  ok?: boolean;
  error?: { name: string; message: string };
  handlerString: string;
  name?: string;
  argsNum?: number;
  isAsync?: boolean;
  streaming?: boolean;
  highWaterMark?: number;
  atMs?: number;
}

export interface InvocationLine {
  invocation: number;
  ok?: any;
  error?: { name: string; message: string };
  streamFinished?: boolean;
  atMs: number;
  cpuMs: number;
}

export interface LambdaRun extends RunResult {
  init: InitLine | undefined;
  /** Indexed by invocation number. */
  results: InvocationLine[];
}

export function lambdaEnv(opts: Pick<LambdaRunOptions, 'handler' | 'daemonAddress' | 'upstreamUrl' | 'env'>): Record<string, string> {
  return {
    LAMBDA_TASK_ROOT: TASK_ROOT,
    _HANDLER: opts.handler,
    AWS_LAMBDA_FUNCTION_NAME: 'fixture-function',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x',
    AWS_REGION: 'us-east-1',
    AWS_XRAY_DAEMON_ADDRESS: opts.daemonAddress,
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
    UPSTREAM_URL: opts.upstreamUrl,
    ...opts.env,
  };
}

export async function runLambda(opts: LambdaRunOptions): Promise<LambdaRun> {
  const r = await runToExit({
    script: RUNNER,
    loader: opts.agent === false ? 'none' : 'require',
    cwd: TASK_ROOT,
    nodeArgs: opts.nodeArgs,
    env: {
      ...lambdaEnv(opts),
      HARNESS_PLAN: JSON.stringify({ mode: opts.concurrent ? 'concurrent' : 'sequential', invocations: opts.invocations }),
    },
  });
  let init: InitLine | undefined;
  const results: InvocationLine[] = [];
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const obj = JSON.parse(line) as { init?: InitLine } & Partial<InvocationLine>;
    if (obj.init !== undefined) init = obj.init;
    else if (typeof obj.invocation === 'number') results[obj.invocation] = obj as InvocationLine;
  }
  return { ...r, init, results };
}

export function newRoot(): string {
  return `1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}

export function newId(): string {
  return randomBytes(8).toString('hex');
}

export function traceHeader(root: string, parent: string, sampled: '0' | '1' = '1'): string {
  return `Root=${root};Parent=${parent};Sampled=${sampled}`;
}
