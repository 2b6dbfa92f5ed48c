// Loaded by lambda/handler.mjs (the module the runtime now loads as the function's handler, see
// ./handler-rewrite): resolves the user's original handler string exactly the way the Node.js
// runtime interface client would, wraps the function it finds, and returns it.
//
// Resolution mirrors the runtime in use, so that a handler that loads without the agent loads the
// same with it, and one that fails fails with the same error type and message:
//   classic  (nodejs18.x–22.x: UserFunction.js) — extensionless file and, outside "type": "module"
//            packages, `.js` via require; then `.js` (module packages) and `.mjs` via import, `.cjs`
//            via require (`.ts`/`.mts`/`.cts` on Node >= 24); else require.resolve(module,
//            {paths: [appRoot, moduleRoot]}); the property path is followed with `a && a[key]`.
//   v4       (nodejs24.x, and Managed Instances: src/function/*) — every candidate ("", .js, .mjs,
//            .cjs) through import(); then require.resolve; the property path is followed through
//            objects only, and looked up under `default` when not found at the top.
// Load errors (syntax errors, missing modules, errors thrown by the user's init code) propagate
// unchanged: the runtime wraps them into Runtime.UserCodeSyntaxError / Runtime.ImportModuleError
// around its own import of the wrapper, exactly as around the user's module. A handler that is
// missing or not a function is reported as Runtime.HandlerNotFound with the runtime's message and
// the original handler string.

import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { log } from '../log';
import { currentAgent } from '../runtime';
import { ORIGINAL_HANDLER_ENV } from './handler-rewrite';
import { wrapHandler, type FlushControl } from './wrap-handler';

type AnyFn = (...args: any[]) => any;

const FUNCTION_EXPR = /^([^.]*)\.(.*)$/;

// The runtime's error classes: same names, so the init error Lambda reports is the same.
export class HandlerNotFound extends Error {}
HandlerNotFound.prototype.name = 'Runtime.HandlerNotFound';
export class MalformedHandlerName extends Error {}
MalformedHandlerName.prototype.name = 'Runtime.MalformedHandlerName';

export type RuntimeFlavour = 'classic' | 'v4';

/** Which runtime interface client is loading handlers in this process. */
export function runtimeFlavour(env: NodeJS.ProcessEnv, nodeMajor = Number(process.versions.node.split('.')[0])): RuntimeFlavour {
  const m = /^AWS_Lambda_nodejs(\d+)/.exec(env.AWS_EXECUTION_ENV ?? '');
  const major = m ? Number(m[1]) : nodeMajor;
  if (major >= 24) return 'v4';
  if (env.AWS_LAMBDA_MAX_CONCURRENCY !== undefined) return 'v4'; // Lambda Managed Instances
  return 'classic';
}

export interface ParsedHandler {
  moduleRoot: string;
  module: string;
  handlerPath: string;
}

/** `<moduleRoot><module>.<handler.path>` as the runtime splits it. */
export function parseHandlerString(full: string): ParsedHandler {
  if (full.includes('..')) {
    throw new MalformedHandlerName(`'${full}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`);
  }
  const handlerString = path.basename(full);
  const moduleRoot = full.substring(0, full.indexOf(handlerString));
  const match = FUNCTION_EXPR.exec(handlerString);
  if (!match) throw new MalformedHandlerName('Bad handler');
  return { moduleRoot, module: match[1], handlerPath: match[2] };
}

/**
 * How ES modules are imported. lambda/handler.mjs passes its own `import()`: the agent's bundle is
 * compiled through node:vm (for V8's code cache, see register.js), where `import()` needs flags
 * Node 20 does not have by default.
 */
export type ImportModule = (file: string) => Promise<unknown>;

async function tryImport(importModule: ImportModule, file: string): Promise<unknown> {
  return existsSync(file) ? await importModule(file) : undefined;
}

function tryRequire(file: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return existsSync(file) ? require(file) : undefined;
}

function hasFolderPackageJsonTypeModule(folder: string): boolean {
  if (folder.endsWith('/node_modules')) return false;
  const pj = path.join(folder, '/package.json');
  if (existsSync(pj)) {
    try {
      const pkg = JSON.parse(readFileSync(pj, 'utf8')) as { type?: unknown } | null;
      if (pkg) return pkg.type === 'module';
    } catch (e) {
      log.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, { error: String(e) });
      return false;
    }
  }
  if (folder === '/') return false;
  return hasFolderPackageJsonTypeModule(path.resolve(folder, '..'));
}

function nodeMajor(): number {
  return Number(process.versions.node.split('.')[0]);
}

async function loadClassic(appRoot: string, moduleRoot: string, module: string, importModule: ImportModule): Promise<unknown> {
  const lambdaStylePath = path.resolve(appRoot, moduleRoot, module);
  const supportsTs = nodeMajor() >= 24;
  const extensionless = tryRequire(lambdaStylePath);
  if (extensionless) return extensionless;
  const pjHasModule = hasFolderPackageJsonTypeModule(path.resolve(path.dirname(lambdaStylePath)));
  if (!pjHasModule) {
    const loaded = tryRequire(lambdaStylePath + '.js');
    if (loaded) return loaded;
  }
  const loaded =
    (pjHasModule && (await tryImport(importModule, lambdaStylePath + '.js'))) ||
    (await tryImport(importModule, lambdaStylePath + '.mjs')) ||
    tryRequire(lambdaStylePath + '.cjs') ||
    (supportsTs && !pjHasModule && tryRequire(lambdaStylePath + '.ts')) ||
    (supportsTs && pjHasModule && (await tryImport(importModule, lambdaStylePath + '.ts'))) ||
    (supportsTs && (await tryImport(importModule, lambdaStylePath + '.mts'))) ||
    (supportsTs && tryRequire(lambdaStylePath + '.cts'));
  if (loaded) return loaded;
  const nodeStylePath = require.resolve(module, { paths: [appRoot, moduleRoot] });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(nodeStylePath);
}

async function loadV4(appRoot: string, moduleRoot: string, module: string, importModule: ImportModule): Promise<unknown> {
  const root = moduleRoot.replace(/\/$/, '');
  const full = path.resolve(appRoot, root, module);
  for (const ext of ['', '.js', '.mjs', '.cjs']) {
    const loaded = await tryImport(importModule, full + ext);
    if (loaded) return loaded;
  }
  const resolved = require.resolve(module, { paths: [appRoot, path.join(appRoot, root)] });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(resolved);
}

function findClassic(object: unknown, handlerPath: string): unknown {
  return handlerPath.split('.').reduce<unknown>((nested, key) => nested && (nested as Record<string, unknown>)[key], object);
}

function findV4(object: unknown, handlerPath: string): unknown {
  return handlerPath
    .split('.')
    .reduce<unknown>((nested, key) => (nested && typeof nested === 'object' ? (nested as Record<string, unknown>)[key] : undefined), object);
}

/** Loads the module named by `full` and returns the handler function, or throws like the runtime. */
export async function resolveUserHandler(appRoot: string, full: string, flavour: RuntimeFlavour, importModule: ImportModule): Promise<AnyFn> {
  const { moduleRoot, module, handlerPath } = parseHandlerString(full);
  let handler: unknown;
  if (flavour === 'classic') {
    handler = findClassic(await loadClassic(appRoot, moduleRoot, module, importModule), handlerPath);
  } else {
    const mod = await loadV4(appRoot, moduleRoot, module, importModule);
    handler = findV4(mod, handlerPath);
    if (!handler && typeof mod === 'object' && mod !== null && 'default' in mod) {
      handler = findV4((mod as { default: unknown }).default, handlerPath);
    }
  }
  if (!handler) throw new HandlerNotFound(`${full} is undefined or not exported`);
  if (typeof handler !== 'function') throw new HandlerNotFound(`${full} is not a function`);
  return handler as AnyFn;
}

/** The flush the wrapper waits for: the running agent's recorder and emitter. */
function flushControl(): FlushControl | undefined {
  const agent = currentAgent();
  if (agent === undefined) return undefined;
  const timeoutMs = agent.config.lambdaFlushTimeoutMs;
  if (!(timeoutMs > 0)) return undefined;
  const { recorder, emitter } = agent;
  return {
    idle: () => !emitter.busy && !recorder.hasWaiting,
    flush: () => recorder.flush(),
    timeoutMs,
  };
}

/**
 * Called once, at init, by lambda/handler.mjs. Puts `_HANDLER` back to the user's string, loads
 * the user's handler (the user's init code runs now, inside the init phase) and returns it wrapped;
 * unwrapped if anything on the agent's side fails.
 */
export async function loadHandler(env: NodeJS.ProcessEnv, importModule: ImportModule): Promise<AnyFn> {
  const original = env[ORIGINAL_HANDLER_ENV];
  if (original === undefined) {
    throw new HandlerNotFound(
      `@xray/agent: ${ORIGINAL_HANDLER_ENV} is not set; set _HANDLER to your own handler, the agent wraps it by itself`,
    );
  }
  // Restore the environment as Lambda set it: user code and child processes see their own handler.
  env._HANDLER = original;
  delete env[ORIGINAL_HANDLER_ENV];
  const appRoot = env.LAMBDA_TASK_ROOT || process.cwd();
  const handler = await resolveUserHandler(appRoot, original, runtimeFlavour(env), importModule);
  try {
    const ctl = flushControl();
    if (ctl === undefined) return handler;
    const wrapped = wrapHandler(handler, ctl);
    log.debug('Lambda handler wrapped: results are released after a bounded flush', { handler: original, flushTimeoutMs: ctl.timeoutMs });
    return wrapped;
  } catch (err) {
    log.error('could not wrap the Lambda handler; it runs unwrapped (subsegments may be sent late)', { error: String(err) });
    return handler;
  }
}
