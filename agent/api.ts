// The manual API, a drop-in subset of aws-xray-sdk-core (spec §9.3): the same names and call
// shapes, working on the agent's context. With the agent off every function still works: the
// work runs, nothing is recorded.

import { active, enter, run } from './context';
import { currentAgent } from './runtime';
import { unrecordedSubsegment, type Entity, type Segment, type Subsegment } from './model/entity';

export type { Entity } from './model/entity';
export { Segment, Subsegment, express, middleware, capturePromise } from './sdk-compat';

/**
 * The current segment or subsegment. With no active one, AWS_XRAY_CONTEXT_MISSING applies
 * (RUNTIME_ERROR throws, LOG_ERROR logs, IGNORE_ERROR returns undefined quietly).
 */
export function getSegment(): Segment | Subsegment | undefined {
  const entity = (currentAgent()?.recorder.current() ?? active()) as Segment | Subsegment | undefined;
  if (entity === undefined) currentAgent()?.recorder.missingContext('getSegment()', true);
  return entity;
}

/** Makes `entity` current for the rest of this synchronous call and the async work it starts. */
export function setSegment(entity: Segment | Subsegment): void {
  enter(entity);
}

/**
 * The recorder's subsegment under `parent` (default: current). When the trace records nothing here
 * (unsampled, at its cap, already sent, no active segment, the agent off), an unrecorded one: the
 * app's code gets a subsegment whatever happens, as it would from aws-xray-sdk-core in a sampled
 * request, and its calls on it (close, addAnnotation…) do nothing.
 */
function begin(name: string, parent: Entity | undefined): Subsegment {
  const agent = currentAgent();
  const p = parent ?? agent?.recorder.current();
  const sub = agent?.recorder.startSubsegment(name, p, true);
  return sub ?? unrecordedSubsegment(name, p);
}

/**
 * Runs `fcn(subsegment)` synchronously inside a new subsegment and closes it; an exception is
 * recorded on the subsegment and rethrown unchanged. Returns what `fcn` returns.
 */
export function captureFunc<T>(name: string, fcn: (subsegment: Subsegment) => T, parent?: Segment | Subsegment): T {
  const sub = begin(name, parent);
  // Not recorded: the context stays as it is, so work inside belongs to the nearest recorded entity.
  if (!sub.recorded) return fcn(sub);
  try {
    return run(sub, () => fcn(sub));
  } catch (err) {
    sub.close(err);
    throw err;
  } finally {
    sub.close();
  }
}

/**
 * Runs `fcn(subsegment)` inside a new subsegment that the caller closes (`subsegment.close(err?)`),
 * as in aws-xray-sdk-core. A synchronous throw closes it with the error and is rethrown.
 */
export function captureAsyncFunc<T>(name: string, fcn: (subsegment: Subsegment) => T, parent?: Segment | Subsegment): T {
  const sub = begin(name, parent);
  if (!sub.recorded) return fcn(sub);
  try {
    return run(sub, () => fcn(sub));
  } catch (err) {
    sub.close(err);
    throw err;
  }
}

/**
 * Wraps a callback: when it runs, a subsegment named `name` covers its execution. The parent is
 * held open until then, so the trace is not sent before the callback had its say.
 */
export function captureCallbackFunc<A extends unknown[], R>(
  name: string,
  fcn: (...args: A) => R,
  parent?: Segment | Subsegment,
): (...args: A) => R {
  const agent = currentAgent();
  if (agent === undefined) return fcn;
  const p = parent ?? agent.recorder.current();
  if (p === undefined) {
    agent.recorder.missingContext(`captureCallbackFunc("${String(name).slice(0, 100)}")`, true);
    return fcn;
  }
  if (!p.records) return fcn;
  p.incrementCounter();
  let released = false;
  return function (this: unknown, ...args: A): R {
    // Started while the parent is still held, then released: the trace cannot be sent in between.
    const sub = agent.recorder.startSubsegment(name, p, true);
    if (!released) {
      released = true;
      p.decrementCounter();
    }
    if (sub === undefined) return Reflect.apply(fcn, this, args);
    try {
      return run(sub, () => Reflect.apply(fcn, this, args));
    } catch (err) {
      sub.close(err);
      throw err;
    } finally {
      sub.close();
    }
  };
}

/** Waits until every finished document has been handed to the operating system. */
export function flush(): Promise<void> {
  return currentAgent()?.recorder.flush() ?? Promise.resolve();
}

/** `LOG_ERROR`, `RUNTIME_ERROR` or `IGNORE_ERROR`; the environment variable wins when set. */
export function setContextMissingStrategy(strategy: 'LOG_ERROR' | 'RUNTIME_ERROR' | 'IGNORE_ERROR'): void {
  const agent = currentAgent();
  if (agent === undefined || process.env.AWS_XRAY_CONTEXT_MISSING) return;
  if (strategy === 'LOG_ERROR' || strategy === 'RUNTIME_ERROR' || strategy === 'IGNORE_ERROR') {
    agent.recorder.options.contextMissing = strategy;
  }
}

/** True when the agent is running in this process. */
export function isEnabled(): boolean {
  return currentAgent() !== undefined;
}

// Compatibility no-ops: the agent already instruments these, process-wide, with no code change.
// They return their argument so code written for aws-xray-sdk-core keeps working unchanged.
export function captureHTTPsGlobal<T>(module: T): T {
  return module;
}
export function captureHTTPs<T>(module: T): T {
  return module;
}
export function captureAWS<T>(awsSdk: T): T {
  return awsSdk;
}
export function captureAWSClient<T>(client: T): T {
  return client;
}
export function captureAWSv3Client<T>(client: T): T {
  return client;
}
