// The parts of aws-xray-sdk-core's surface (spec §9.3) that code written for the SDK calls and the
// agent makes unnecessary: the Segment and Subsegment constructors, the Express open/close
// middlewares, `middleware`, `capturePromise.patchThirdPartyPromise`. They exist so that such code
// runs unchanged under the agent, doing what still makes sense and nothing else:
// - `new Segment(name, rootId?, parentId?)` (a background job's own segment) makes a segment the
//   agent records and sends when it is closed, as the SDK does;
// - `new Subsegment(name)` gives an unrecorded stand-in (subsegments are recorded when made through
//   addNewSubsegment or the capture functions);
// - `instanceof Segment` / `instanceof Subsegment` holds for the agent's own entities;
// - the request's segment is the one the agent opened for it: the Express middlewares pass
//   through, and `middleware.traceRequestResponseCycle` returns that segment;
// - settings the agent takes from its configuration instead (sampling rules, naming) log once
//   that they are ignored.

import { log } from './log';
import { currentAgent } from './runtime';
import { isEntityId, isTraceId } from './model/ids';
import { Segment as SegmentEntity, Subsegment as SubsegmentEntity, unrecordedSegment, unrecordedSubsegment, type Entity } from './model/entity';

export interface SegmentConstructor {
  new (name: string, rootId?: string, parentId?: string): SegmentEntity;
  readonly prototype: SegmentEntity;
}

export interface SubsegmentConstructor {
  new (name: string): SubsegmentEntity;
  readonly prototype: SubsegmentEntity;
}

/**
 * `new Segment(name, rootId?, parentId?)`: a segment the agent records (sampled, as the SDK's are),
 * in the trace `rootId` under `parentId` when they are well formed, else in a new trace; sent
 * when closed. With the agent off, an unrecorded one.
 */
export const Segment = function Segment(name: string, rootId?: string, parentId?: string): SegmentEntity {
  const agent = currentAgent();
  if (agent === undefined) return unrecordedSegment(name);
  const root = isTraceId(rootId) ? rootId.toLowerCase() : undefined;
  const parent = root !== undefined && isEntityId(parentId) ? parentId.toLowerCase() : undefined;
  return agent.recorder.startSegment({ name: String(name), header: { root, parent, sampled: '1', extra: '' } });
} as unknown as SegmentConstructor;
(Segment as { prototype: unknown }).prototype = SegmentEntity.prototype;
/** The type of the agent's segments (what getSegment() returns at the top of a trace). */
export type Segment = SegmentEntity;

/** `new Subsegment(name)`: an unrecorded stand-in (see above). */
export const Subsegment = function Subsegment(name: string): SubsegmentEntity {
  return unrecordedSubsegment(name);
} as unknown as SubsegmentConstructor;
(Subsegment as { prototype: unknown }).prototype = SubsegmentEntity.prototype;
export type Subsegment = SubsegmentEntity;

type Next = (err?: unknown) => void;

/** The segment of the request being handled (quietly undefined outside one). */
function requestSegment(): SegmentEntity | undefined {
  return (currentAgent()?.recorder.current() as Entity | undefined)?.segment;
}

/** Express: the agent opens every request's segment itself; these only hand it on, as `req.segment`. */
export const express = {
  openSegment(_defaultName?: string): (req: Record<string, unknown>, res: unknown, next: Next) => void {
    return function open(req, _res, next): void {
      const segment = requestSegment();
      if (segment !== undefined && req !== null && typeof req === 'object' && req.segment === undefined) req.segment = segment;
      next();
    };
  },
  closeSegment(): (err: unknown, req: unknown, res: unknown, next: Next) => void {
    // Four parameters: Express calls it for errors only, and the agent records those itself.
    return function close(err, _req, _res, next): void {
      next(err);
    };
  },
};

function ignored(what: string, instead: string): void {
  log.once(`sdk-compat.${what}`, 'warn', `${what}() is ignored under @xray/agent: ${instead}`);
}

/** `AWSXRay.middleware`: the request's segment comes from the agent; settings from its configuration. */
export const middleware = {
  traceRequestResponseCycle(_req?: unknown, _res?: unknown): SegmentEntity {
    return requestSegment() ?? unrecordedSegment('unrecorded');
  },
  setSamplingRules(_source?: unknown): void {
    ignored('middleware.setSamplingRules', 'sampling rules come from AWS_XRAY_SAMPLING_RULES (or the agent config file)');
  },
  disableCentralizedSampling(): void {
    ignored('middleware.disableCentralizedSampling', 'set AWS_XRAY_CENTRALIZED_SAMPLING=false');
  },
  setDefaultName(_name?: string): void {
    ignored('middleware.setDefaultName', 'the service name comes from AWS_XRAY_TRACING_NAME');
  },
  enableDynamicNaming(_pattern?: string): void {
    ignored('middleware.enableDynamicNaming', 'segments are named after AWS_XRAY_TRACING_NAME');
  },
};

/** AsyncLocalStorage already carries the context through promises, third-party ones included. */
export const capturePromise = Object.assign(function capturePromise(): void {}, {
  patchThirdPartyPromise(_promiseClass?: unknown): void {},
});
