// The Recorder builds segments and subsegments from what instrumentations report, decides when a
// finished tree (or part of it) is sent, and hands it to the serializer. Instrumentations talk to
// this class only; they never build JSON or touch the socket.

import { Entity, Segment, Subsegment, nowSeconds, type Tracer } from './model/entity';
import { newTraceId } from './model/ids';
import type { TraceHeader } from './model/trace-header';
import type { Sampler, SamplingRequest } from './sampling/types';
import { Serializer, type DatagramSink } from './export/serializer';
import { EndOfTurnQueue } from './export/end-of-turn';
import { active } from './context';
import { log } from './log';
import { agentVersion } from './version';
import { setTimeout, clearTimeout } from './timers';

/** LOG_ERROR lines about a missing context are at most this frequent. */
const MISSING_CONTEXT_LOG_INTERVAL_MS = 60_000;

export interface RecorderOptions {
  serviceName: string;
  contextMissing: 'LOG_ERROR' | 'RUNTIME_ERROR' | 'IGNORE_ERROR';
  streamingThreshold: number;
  maxStackFrames: number;
  maxDatagramBytes: number;
  segmentFlushTimeoutMs: number;
  maxOpenSegments: number;
  maxSubsegmentsPerSegment: number;
  /** `origin` of every segment (set by resource plugins), also the sampling service type. */
  origin?: string;
  /**
   * Segments that end complete are serialized at the end of the event loop's turn, with the others
   * of that turn (export/end-of-turn.ts), instead of at once. Off in Lambda.
   */
  sendAtTurnEnd?: boolean;
}

/** Rule-named `aws` blocks kept at most (ruleAwsBlock). */
const MAX_RULE_BLOCKS = 256;

export interface Transport extends DatagramSink {
  flush(): Promise<void>;
  /**
   * Called when the first sampled segment starts: the transport gets ready (the UDP socket looks up
   * and connects the daemon's address) while that request runs, so that its document can leave
   * even if the process exits the moment the request ends (process.exit(): nothing asynchronous
   * runs any more).
   */
  prepare?(): void;
}

export interface RecorderStats {
  segmentsStarted: number;
  segmentsSampled: number;
  /** Requests left untraced because maxOpenSegments segments were already open. */
  segmentsDroppedOpenLimit: number;
  /**
   * Closed segments sent before their open subsegments closed because maxOpenSegments of them were
   * already waiting (those subsegments go as in progress, and on their own when they close).
   */
  segmentsSentWaitLimit: number;
  subsegmentsDroppedLimit: number;
  /** Subsegment requests with no active segment (startup code, background timers). */
  contextMissing: number;
}

export interface StartSegmentOptions {
  name?: string;
  header?: TraceHeader;
  sampling?: SamplingRequest;
  startTime?: number;
}

export class Recorder implements Tracer {
  readonly maxStackFrames: number;
  readonly maxSubsegmentsPerSegment: number;
  readonly stats: RecorderStats = {
    segmentsStarted: 0,
    segmentsSampled: 0,
    segmentsDroppedOpenLimit: 0,
    segmentsSentWaitLimit: 0,
    subsegmentsDroppedLimit: 0,
    contextMissing: 0,
  };
  readonly serializer: Serializer;
  private openSegments = 0;
  /** Closed segments waiting for open subsegments, oldest first (at most maxOpenSegments). */
  private readonly waiting = new Map<Segment, NodeJS.Timeout>();
  /** Subsegments that went out complete in a segment document sent while others were still open. */
  private readonly sentComplete = new WeakSet<Entity>();
  private xrayBlock: Record<string, unknown> | undefined;
  /** `aws` of every sampled segment: `xray` plus what resource plugins found (ec2, ecs, …). */
  private sharedAws: Record<string, unknown> | undefined;
  /** Resource data from plugins, kept until sharedAws is (re)built. */
  private resourceAws: Record<string, unknown> | undefined;
  /** ruleAwsBlock()'s blocks by rule name, made from awsBlock() (emptied with it by setResource). */
  private readonly ruleAws = new Map<string, Record<string, unknown>>();
  private lastMissingLog = -Infinity;
  private transportPrepared = false;
  private missingAtLastLog = 0;
  /** Where subsegments go when no entity is active (Lambda: the invocation's facade). */
  private fallbackParent: (() => Entity | undefined) | undefined;
  // Shared by every segment and frozen: the serializer writes frozen blocks' JSON once.
  private readonly service = Object.freeze({ runtime: 'node', runtime_version: process.version });
  /** Complete segments waiting for the end of this turn of the event loop (sendAtTurnEnd). */
  private readonly endOfTurn: EndOfTurnQueue<Segment> | undefined;

  constructor(
    readonly options: RecorderOptions,
    private readonly sampler: Sampler,
    private readonly transport: Transport,
  ) {
    this.maxStackFrames = options.maxStackFrames;
    this.maxSubsegmentsPerSegment = options.maxSubsegmentsPerSegment;
    this.serializer = new Serializer(options.maxDatagramBytes, transport);
    this.endOfTurn = options.sendAtTurnEnd ? new EndOfTurnQueue((segment) => this.emitComplete(segment)) : undefined;
  }

  /**
   * Starts the segment of one unit of work (an incoming request). The sampling decision is made
   * here, once: an upstream Sampled=1/0 is honoured, otherwise the sampler decides.
   */
  startSegment(opts: StartSegmentOptions): Segment {
    const header = opts.header;
    let sampled: boolean;
    let ruleName: string | undefined;
    if (header?.sampled === '1') sampled = true;
    else if (header?.sampled === '0') sampled = false;
    else {
      const sampling = opts.sampling ?? {};
      if (sampling.serviceName === undefined) sampling.serviceName = this.options.serviceName;
      if (sampling.serviceType === undefined && this.options.origin !== undefined) sampling.serviceType = this.options.origin;
      const decision = this.sampler.decide(sampling);
      sampled = decision.sampled;
      ruleName = decision.ruleName;
    }
    this.stats.segmentsStarted++;
    if (sampled && this.openSegments >= this.options.maxOpenSegments) {
      sampled = false;
      this.stats.segmentsDroppedOpenLimit++;
      log.once('recorder.openLimit', 'warn', 'too many open segments; new requests are not traced until some finish (counted)', {
        maxOpenSegments: this.options.maxOpenSegments,
      });
    }
    const startTime = opts.startTime ?? nowSeconds();
    const segment = new Segment({
      name: opts.name ?? this.options.serviceName,
      // The trace id's time part from the segment's own start: no second clock read.
      traceId: header?.root ?? newTraceId(startTime * 1000),
      parentId: header?.parent,
      sampled,
      tracer: this,
      headerExtra: header?.extra,
      startTime,
    });
    if (sampled) {
      if (!this.transportPrepared) {
        this.transportPrepared = true;
        this.transport.prepare?.();
      }
      this.openSegments++;
      this.stats.segmentsSampled++;
      segment.service = this.service;
      // One shared, frozen object for every segment, and one per centralized sampling rule (whose
      // name it carries): never mutated once handed out, so its JSON is made once
      // (export/entity-json.ts) instead of for every traced request.
      segment.aws = ruleName === undefined ? this.awsBlock() : this.ruleAwsBlock(ruleName);
      if (this.options.origin !== undefined) segment.origin = this.options.origin;
    }
    return segment;
  }

  /** Sets where work outside any active entity is recorded (Lambda invocations). */
  setFallbackParent(fn: () => Entity | undefined): void {
    this.fallbackParent = fn;
  }

  /** The entity new work belongs to: the active one, else the fallback (Lambda facade). */
  current(): Entity | undefined {
    return active() ?? this.fallbackParent?.();
  }

  /**
   * Starts a subsegment under `parent` (default: the current entity). Returns undefined when the
   * trace is unsampled, full, or there is no active entity (contextMissing decides the log).
   */
  startSubsegment(name: string, parent: Entity | undefined = this.current(), manual = false): Subsegment | undefined {
    if (parent === undefined) {
      this.missingContext(`subsegment "${String(name).slice(0, 100)}"`, manual);
      return undefined;
    }
    if (parent.end_time !== undefined && parent.segment.sent) return undefined;
    return parent.openSubsegment(name);
  }

  /** Applies AWS_XRAY_CONTEXT_MISSING to a request for the active entity that found none. */
  missingContext(what: string, manual: boolean): void {
    this.stats.contextMissing++;
    const strategy = this.options.contextMissing;
    if (strategy === 'RUNTIME_ERROR' && manual) {
      throw new Error(`@xray/agent: no active segment for ${what} (AWS_XRAY_CONTEXT_MISSING=RUNTIME_ERROR)`);
    }
    if (strategy === 'LOG_ERROR' || strategy === 'RUNTIME_ERROR') {
      // At most one line a minute (with the count since the last one): a timer or a Lambda init
      // phase making calls outside any request must not flood the app's logs.
      const now = Date.now();
      if (now - this.lastMissingLog >= MISSING_CONTEXT_LOG_INTERVAL_MS) {
        const since = this.stats.contextMissing - this.missingAtLastLog;
        this.lastMissingLog = now;
        this.missingAtLastLog = this.stats.contextMissing;
        log.error(`no active segment for ${what}; not traced (AWS_XRAY_CONTEXT_MISSING=${strategy})`, since > 1 ? { occurrencesSinceLastLine: since } : undefined);
      }
    } else {
      log.debug(`no active segment for ${what}; not traced`);
    }
  }

  subsegmentDropped(): void {
    this.stats.subsegmentsDroppedLimit++;
    log.once('recorder.subsegmentLimit', 'warn', 'a segment reached maxSubsegmentsPerSegment; further calls in it are not traced (counted)', {
      maxSubsegmentsPerSegment: this.maxSubsegmentsPerSegment,
    });
  }

  /** Called by every entity when it closes: decides what can be sent now. */
  entityEnded(entity: Entity): void {
    try {
      if (entity instanceof Segment) this.segmentEnded(entity);
      else this.subsegmentEnded(entity as Subsegment);
    } catch (err) {
      log.once('recorder.ended', 'error', 'internal error while finishing a trace entity', { error: String(err) });
    }
  }

  childrenSettled(entity: Entity): void {
    const segment = entity.segment;
    if (segment.end_time !== undefined && segment.openChildren === 0 && !segment.sent && !segment.facade) {
      this.sendSegment(segment);
    }
  }

  private segmentEnded(segment: Segment): void {
    if (!segment.sampledFlag || segment.facade) return;
    this.openSegments--;
    if (segment.openChildren === 0) {
      this.sendSegment(segment);
      return;
    }
    // Children still open: wait for them, but not forever (DESIGN §6.17).
    if (this.options.segmentFlushTimeoutMs === 0) {
      this.sendSegment(segment);
      return;
    }
    // Bounded like the open segments: an app that leaves a subsegment open on every request (a
    // captureAsyncFunc never closed) would otherwise hold every request's tree for the whole grace
    // period (30 s at thousands of requests a second). The one waiting longest goes now.
    if (this.waiting.size >= this.options.maxOpenSegments) {
      const oldest = this.waiting.keys().next().value as Segment;
      this.stats.segmentsSentWaitLimit++;
      log.once('recorder.waitLimit', 'warn', 'too many finished segments waiting for subsegments that were never closed; the oldest are sent now, those subsegments in progress (counted)', {
        maxOpenSegments: this.options.maxOpenSegments,
      });
      this.sendSegment(oldest);
    }
    const timer = setTimeout(() => this.sendSegment(segment), this.options.segmentFlushTimeoutMs);
    timer.unref();
    this.waiting.set(segment, timer);
  }

  private subsegmentEnded(sub: Subsegment): void {
    const segment = sub.segment;
    const segmentComplete = segment.end_time !== undefined && segment.openChildren === 0 && !segment.sent && !segment.facade;
    if (sub.openChildren === 0) {
      // The largest complete subtree that contains `sub`, below any ancestor already sent.
      let top: Subsegment = sub;
      while (
        top.parent instanceof Subsegment &&
        top.parent.end_time !== undefined &&
        top.parent.openChildren === 0 &&
        !this.sentComplete.has(top.parent)
      ) {
        // Detached from its parent when an early-sent document was split for size: goes on its own.
        if (top.independent) this.stream(top);
        top = top.parent;
      }
      const parent = top.parent;
      // A parent already sent (streamed on its own, or complete in a segment sent early) cannot
      // carry what was started under it since: that goes on its own, its parent_id naming it.
      const parentWontCarryIt =
        top.independent || (parent === segment ? segment.sent || segment.facade : this.sentComplete.has(parent));
      if (parentWontCarryIt || (!segmentComplete && segment.heldCount > this.options.streamingThreshold)) this.stream(top);
    }
    if (segmentComplete) this.sendSegment(segment);
  }

  /**
   * Sends a complete subtree as an independent subsegment and detaches it from its parent. Its
   * entities are remembered as sent: work that starts under one of them later (a callback of the
   * app's still running in its context) goes on its own instead of sending it again (spec §1.1).
   */
  private stream(sub: Subsegment): void {
    const siblings = sub.parent.subsegments;
    if (siblings !== undefined) {
      const i = siblings.lastIndexOf(sub);
      if (i !== -1) siblings.splice(i, 1);
    }
    sub.segment.heldCount = Math.max(0, sub.segment.heldCount - countTree(sub));
    sub.independent = true;
    // Collected first: the serializer may detach children it sends apart for size.
    const tree = collectTree(sub, []);
    this.serializer.emit(sub);
    for (const e of tree) this.sentComplete.add(e);
  }

  private sendSegment(segment: Segment): void {
    if (segment.sent) return;
    segment.sent = true;
    const timer = this.waiting.get(segment);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.waiting.delete(segment);
    }
    // Sent before every child closed (grace period, flush): what is complete in this document must
    // never be sent again when a still-open descendant closes later (spec §1.1).
    if (segment.openChildren === 0) {
      // Complete: nothing in it can change any more (no subsegment can start under a sent segment).
      if (this.endOfTurn !== undefined) this.endOfTurn.push(segment);
      else this.emitComplete(segment);
      return;
    }
    const tree = collectTree(segment, []);
    for (const e of tree) if (e !== segment && e.end_time !== undefined) this.sentComplete.add(e);
    this.emitComplete(segment);
    for (const e of tree) if (e !== segment) keepOpenChildren(e);
  }

  /** Serializes the segment with what it holds, then lets go of its tree. */
  private emitComplete(segment: Segment): void {
    this.serializer.emit(segment);
    segment.subsegments = undefined;
    segment.heldCount = 0;
  }

  /**
   * Sends closed segments that are still waiting for open subsegments, and serializes complete
   * ones still waiting for the end of this turn (exit, flush, Lambda end).
   */
  sendWaiting(): void {
    for (const segment of [...this.waiting.keys()]) this.sendSegment(segment);
    this.endOfTurn?.drain();
  }

  get hasWaiting(): boolean {
    return this.waiting.size > 0 || (this.endOfTurn?.size ?? 0) > 0;
  }

  /** Sends what is waiting and resolves when the transport has handed everything to the OS. */
  flush(): Promise<void> {
    this.sendWaiting();
    return this.transport.flush();
  }

  /**
   * Where this process runs, from the resource plugins (spec §7): `origin` (also the sampling
   * service type) and the `aws.<plugin>` blocks. Segments started from now on carry them; a new
   * shared object is built, so segments already started keep what they had.
   */
  setResource(resource: { origin?: string; aws?: Record<string, unknown> }): void {
    this.options.origin = resource.origin;
    this.resourceAws = resource.aws;
    this.sharedAws = undefined;
    this.ruleAws.clear();
  }

  private awsBlock(): Record<string, unknown> {
    return (this.sharedAws ??= Object.freeze({ xray: this.xray(), ...this.resourceAws }));
  }

  /** awsBlock() with the name of the sampling rule that matched, one object per rule. */
  private ruleAwsBlock(ruleName: string): Record<string, unknown> {
    let block = this.ruleAws.get(ruleName);
    if (block === undefined) {
      block = Object.freeze({ ...this.awsBlock(), xray: Object.freeze({ ...this.xray(), sampling_rule_name: ruleName, rule_name: ruleName }) });
      // Rules come from the account's sampling configuration (a few dozen at most); the bound only
      // keeps a misbehaving rule source from growing the map.
      if (this.ruleAws.size < MAX_RULE_BLOCKS) this.ruleAws.set(ruleName, block);
    }
    return block;
  }

  private xray(): Record<string, unknown> {
    return (this.xrayBlock ??= Object.freeze({
      sdk: 'X-Ray for Node.js',
      sdk_version: agentVersion(),
      auto_instrumentation: true,
      agent: '@xray/agent',
    }));
  }
}

function collectTree(e: Entity, out: Entity[]): Entity[] {
  out.push(e);
  if (e.subsegments !== undefined) for (const c of e.subsegments) collectTree(c, out);
  return out;
}

/** After an early send only the open children are still to be sent (complete) later. */
function keepOpenChildren(e: Entity): void {
  const kids = e.subsegments;
  if (kids === undefined) return;
  const open = kids.filter((c) => c.end_time === undefined);
  e.subsegments = open.length > 0 ? open : undefined;
}

function countTree(e: Entity): number {
  let n = 1;
  if (e.subsegments !== undefined) for (const c of e.subsegments) n += countTree(c);
  return n;
}
