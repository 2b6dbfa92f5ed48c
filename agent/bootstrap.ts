// Start-up: the guards of DESIGN §3 (Node version, main thread, started once, enabled), then the
// agent itself. Nothing here may throw into the app, and a quiet start loads nothing heavy
// (no pino, no semver, no loader hooks).

import { log } from './log';
import { loadConfig, type AgentConfig } from './config/load';
import { CONFIG_FILE_ENV } from './config/schema';
import { UdpEmitter } from './export/udp-emitter';
import { Recorder } from './recorder';
import { createSampler } from './sampling/create-sampler';
import { HttpServerSpans } from './spans/http-server';
import { HttpClientSpans } from './spans/http-client';
import type { InstrumentationHost } from './instrumentation';
import { setAgent, startAttempted, type AgentRuntime } from './runtime';
import { BUILTINS, MODULES } from '../instrumentations/index';
import { WebFrameworkSpans } from './spans/web-framework';
import { SqlSpans } from './spans/sql';
import { AwsSpans } from './spans/aws';
import { installModuleHook } from './hooks/module-hook';
import { isLambda, LambdaFacades } from './lambda/facade';
import { agentVersion } from './version';
import { isOwnHttpAgent } from './own-http';
import { setImmediate } from './timers';

const MIN_NODE: [number, number] = [20, 6];

/**
 * Whether this is the main thread. Loading node:worker_threads costs ~6 ms of start-up, so the
 * main thread is first recognised by a cheap sign: Node gives workers a process.chdir that only
 * throws (its name says so). Anything unexpected falls back to the definitive answer.
 */
function isMainThread(): boolean {
  if (process.chdir.name === 'wrappedChdir') return true;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:worker_threads') as typeof import('node:worker_threads')).isMainThread;
}

export function start(): void {
  try {
    if (startAttempted()) return; // --require and --import together, or two copies of the package
    if (!isMainThread()) return; // Node's module-loader worker and app workers: the main thread traces
    const [major, minor] = process.versions.node.split('.').map(Number);
    if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1])) {
      setAgent({ off: 'unsupported Node.js version' });
      log.warn(`@xray/agent needs Node.js >= ${MIN_NODE.join('.')}; running on ${process.version}, tracing is off`);
      return;
    }
    const loaded = loadConfig(process.env);
    if ('error' in loaded) {
      // The environment still has its say, as it beats the file: its log level, and whether the
      // agent is wanted at all (then it is off quietly, as asked).
      const envOnly = loadConfig({ ...process.env, [CONFIG_FILE_ENV]: '' });
      if (!('error' in envOnly)) {
        log.setLevel(envOnly.config.logLevel);
        if (!envOnly.config.enabled) {
          setAgent({ off: 'disabled by configuration' });
          log.debug('@xray/agent is disabled (AWS_XRAY_SDK_ENABLED)');
          return;
        }
      }
      setAgent({ off: loaded.error });
      log.error(`${loaded.error}; tracing is off, the app runs normally`);
      return;
    }
    const config = loaded.config;
    log.setLevel(config.logLevel);
    for (const w of loaded.warnings) log.warn(w);
    if (!config.enabled) {
      setAgent({ off: 'disabled by configuration' });
      log.debug('@xray/agent is disabled (AWS_XRAY_SDK_ENABLED)');
      return;
    }
    const runtime = startAgent(config);
    setAgent(runtime);
    if (log.enabled('debug')) {
      log.debug('@xray/agent started', { version: agentVersion(), config, instrumentations: runtime.instrumentations });
    }
  } catch (err) {
    try {
      setAgent({ off: 'start-up failed' });
      log.error('@xray/agent failed to start; tracing is off, the app runs normally', { error: String(err) });
    } catch {
      /* nothing more we can do without risking the app */
    }
  }
}

function startAgent(config: AgentConfig): AgentRuntime {
  const lambda = isLambda(process.env);
  // In Lambda every datagram leaves inside send(): the process may be frozen right after.
  const emitter = new UdpEmitter(config.daemon.udp, config.maxQueuedSends, lambda ? 0 : config.sendBatchMs);
  // In Lambda the sampling decision is Lambda's (the facade's Sampled flag): never poll rules there.
  const sampler = createSampler(lambda ? { ...config, centralizedSampling: false } : config);
  const recorder = new Recorder(
    {
      serviceName: config.serviceName,
      contextMissing: config.contextMissing,
      streamingThreshold: config.streamingThreshold,
      maxStackFrames: config.maxStackFrames,
      maxDatagramBytes: config.maxDatagramBytes,
      segmentFlushTimeoutMs: config.segmentFlushTimeoutMs,
      maxOpenSegments: config.maxOpenSegments,
      maxSubsegmentsPerSegment: config.maxSubsegmentsPerSegment,
      // Batching is the point of both; `sendBatchMs: 0` asks for each document to leave at once.
      sendAtTurnEnd: !lambda && config.sendBatchMs > 0,
    },
    sampler,
    emitter,
  );
  const httpClient = new HttpClientSpans(recorder, {
    captureQueryString: config.captureQueryString,
    downstreamTraced: config.downstreamTraced,
  });
  const host: InstrumentationHost = {
    recorder,
    httpServer: new HttpServerSpans(recorder, {
      captureQueryString: config.captureQueryString,
      responseTraceHeader: config.responseTraceHeader,
    }),
    httpClient,
    web: new WebFrameworkSpans(recorder, {
      routeAnnotation: config.routeAnnotation,
      middlewareSubsegments: config.middlewareSubsegments,
    }),
    sql: new SqlSpans(recorder, { collectSqlQueries: config.collectSqlQueries }),
    aws: new AwsSpans(recorder, httpClient, { loadWhitelist: () => loadAwsWhitelist(config) }),
    isAgentOwn: isOwnHttpAgent,
  };
  const instrumentations: Record<string, string> = {};
  const disabled = new Set(config.disabledInstrumentations);
  warnUnknownInstrumentations(disabled);
  for (const def of BUILTINS) {
    if (disabled.has(def.name)) {
      instrumentations[def.name] = 'disabled';
      continue;
    }
    try {
      const inst = def.load();
      inst.install(host);
      instrumentations[`${def.name}: ${inst.target}`] = 'patched';
    } catch (err) {
      instrumentations[def.name] = 'failed';
      log.error(`instrumentation "${def.name}" failed to install; that library runs untraced`, { error: String(err) });
    }
  }
  try {
    installModuleHook({ entries: MODULES, disabled, host });
  } catch (err) {
    log.error('the module hook failed to install; third-party libraries run untraced', { error: String(err) });
  }
  if (lambda) {
    const facades = new LambdaFacades(recorder);
    recorder.setFallbackParent(() => facades.current());
    emitter.connectNow();
    if (config.lambdaFlushTimeoutMs > 0) installLambdaHandlerWrapper();
  } else {
    installExitFlush(recorder, emitter);
    startResourcePlugins(config, recorder);
    // A daemon named by a host name (a sidecar's or a service's DNS name) needs a lookup before the
    // first datagram can leave. Started once start-up is over, it is done long before the first
    // request ends, even if the process exits then (process.exit(): nothing asynchronous runs any
    // more); begun only when that request starts (the Recorder's prepare hint), it may not be.
    if (emitter.hostIsName) setImmediate(() => emitter.connectNow()).unref();
  }
  const loadLambdaHandler = lambda
    ? (importModule: (file: string) => Promise<unknown>) =>
        (require('./lambda/user-handler') as typeof import('./lambda/user-handler')).loadHandler(process.env, importModule)
    : undefined;
  return { config, recorder, emitter, instrumentations, loadLambdaHandler };
}

/**
 * A name in AWS_XRAY_DISABLED_INSTRUMENTATIONS that is no instrumentation's (`postgres` for `pg`)
 * would leave on what the user meant to turn off: one warning naming it and the known names.
 */
function warnUnknownInstrumentations(disabled: ReadonlySet<string>): void {
  const known = new Set([...BUILTINS, ...MODULES].map((d) => d.name));
  const unknown = [...disabled].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    log.warn(`AWS_XRAY_DISABLED_INSTRUMENTATIONS names no instrumentation: ${unknown.join(', ')}; those stay as they were`, {
      known: [...known].sort().join(','),
    });
  }
}

/** The AWS call whitelist, read on the first AWS call: apps that make none never load it. */
function loadAwsWhitelist(config: AgentConfig): import('./spans/aws-whitelist').CompiledWhitelist {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadWhitelist } = require('./spans/aws-whitelist') as typeof import('./spans/aws-whitelist');
  const loaded = loadWhitelist(config.awsWhitelist, process.cwd());
  if (loaded.warning !== undefined) log.warn(loaded.warning);
  return loaded.whitelist;
}

/**
 * Points the Lambda runtime at the agent's handler wrapper (lambda/handler.mjs), which flushes
 * before each result goes back to the runtime (agent/lambda/handler-rewrite.ts).
 */
function installLambdaHandlerWrapper(): void {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { rewriteHandler } = require('./lambda/handler-rewrite') as typeof import('./lambda/handler-rewrite');
    const outcome = rewriteHandler(process.env);
    if (outcome.rewritten) log.debug('Lambda handler will be wrapped', { handler: outcome.original });
    else log.debug(`Lambda handler left unwrapped: ${outcome.reason}`);
  } catch (err) {
    log.error('could not set up the Lambda handler wrapper; the handler runs unwrapped', { error: String(err) });
  }
}

/** EC2 / ECS / Elastic Beanstalk / EKS metadata, in the background (agent/plugins). */
function startResourcePlugins(config: AgentConfig, recorder: Recorder): void {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startPlugins } = require('./plugins/index') as typeof import('./plugins/index');
    void startPlugins({ config, env: process.env, sink: recorder });
  } catch (err) {
    log.debug('resource plugins did not start', { error: String(err) });
  }
}

/**
 * On a natural exit (empty event loop) send what is still waiting: closed segments whose
 * subsegments never closed, and datagrams in flight. 'beforeExit' fires again after our work
 * finishes, so a listener that only acts while something is pending cannot keep the process up.
 * No signal listeners: they would change how the app exits (DESIGN §4.3).
 */
function installExitFlush(recorder: Recorder, emitter: UdpEmitter): void {
  process.on('beforeExit', () => {
    try {
      if (recorder.hasWaiting) recorder.sendWaiting();
      if (emitter.busy) void emitter.flush();
    } catch {
      /* exiting anyway */
    }
  });
  // process.exit() skips beforeExit: what still waits (segments for their children or for the end
  // of this turn, a burst still gathering) is sent synchronously on the way out.
  process.on('exit', () => {
    try {
      if (recorder.hasWaiting) recorder.sendWaiting();
      emitter.sendNow();
    } catch {
      /* exiting anyway */
    }
  });
}
