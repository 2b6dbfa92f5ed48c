// At preload in Lambda: point the runtime at the agent's handler wrapper instead of the user's
// handler. The Node.js runtime reads the handler string from `_HANDLER` after `NODE_OPTIONS`
// preloads have run, and resolves it as `<moduleRoot>/<module>.<nested.property.path>` relative to
// LAMBDA_TASK_ROOT (an absolute moduleRoot is allowed, `..` is not). The agent rewrites `_HANDLER`
// to its own ESM module `lambda/handler.mjs` (absolute path, so it works from a layer in /opt as
// well as from node_modules in /var/task) and keeps the original string in ORIGINAL_HANDLER_ENV;
// the wrapper module loads the original exactly the way the runtime would, wraps it, and puts
// `_HANDLER` back. No ESM loader thread is involved (module.register costs 50–250 ms at cold start).
//
// Nothing is rewritten (the runtime then loads the user's handler itself, untraced flushing aside)
// when: this is not the managed Node.js runtime (custom runtimes read `_HANDLER` their own way),
// the handler string is one the runtime would refuse (it must fail exactly as without the agent),
// `_HANDLER` already points at the wrapper, or the wrapper file is missing.

import { packageRoot } from '../package-root';
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';

/** Where the original handler string waits for the wrapper module (removed by it once read). */
export const ORIGINAL_HANDLER_ENV = '_XRAY_AGENT_ORIGINAL_HANDLER';

const FUNCTION_EXPR = /^([^.]*)\.(.*)$/;

/** lambda/handler.mjs at the package root (this file is dist/agent/lambda/handler-rewrite.js). */
export function wrapperModulePath(): string {
  return resolve(packageRoot(), 'lambda', 'handler.mjs');
}

/** `<dir>/handler.handler`: the handler string that makes the runtime load the wrapper. */
export function wrapperHandlerString(file = wrapperModulePath()): string {
  return file.slice(0, -'.mjs'.length) + '.handler';
}

/** The managed Node.js runtime (its runtime interface client reads `_HANDLER`). */
export function isManagedNodeRuntime(env: NodeJS.ProcessEnv): boolean {
  return /^AWS_Lambda_nodejs/.test(env.AWS_EXECUTION_ENV ?? '');
}

/** Would the runtime accept this handler string's syntax (UserFunction.js)? */
export function isWellFormedHandler(handler: string): boolean {
  return !handler.includes('..') && FUNCTION_EXPR.test(basename(handler));
}

export type RewriteOutcome = { rewritten: true; original: string; handler: string } | { rewritten: false; reason: string };

export function rewriteHandler(env: NodeJS.ProcessEnv, file = wrapperModulePath()): RewriteOutcome {
  const original = env._HANDLER;
  if (!isManagedNodeRuntime(env)) return { rewritten: false, reason: 'not the managed Node.js runtime (AWS_EXECUTION_ENV)' };
  if (original === undefined || original === '') return { rewritten: false, reason: '_HANDLER is not set' };
  const target = wrapperHandlerString(file);
  if (original === target) return { rewritten: false, reason: '_HANDLER already points at the wrapper' };
  if (!isWellFormedHandler(original)) return { rewritten: false, reason: 'the runtime will refuse this handler string itself' };
  // The runtime splits at the first occurrence of the basename and at its first dot: the wrapper's
  // own path must survive that split unchanged.
  const base = basename(target);
  if (target.includes('..') || target.indexOf(base) !== target.length - base.length || !FUNCTION_EXPR.test(base)) {
    return { rewritten: false, reason: `the wrapper path cannot be written as a handler string: ${target}` };
  }
  if (!existsSync(file)) return { rewritten: false, reason: `wrapper module missing: ${file}` };
  env[ORIGINAL_HANDLER_ENV] = original;
  env._HANDLER = target;
  return { rewritten: true, original, handler: target };
}
