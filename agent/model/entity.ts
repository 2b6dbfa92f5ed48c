// Segments and subsegments: the in-memory trace entities. They hold exactly the X-Ray fields of
// spec §1.2 plus the few links the recorder needs (parent, segment, open-child counts). They never
// touch the socket: closing an entity hands it to its Tracer (the recorder), which decides when
// and how it is sent.

import { newEntityId } from './ids';
import { sanitizeName } from './names';
import { isValidAnnotationKey, isValidAnnotationValue, isValidMetadataNamespace, normalizeMetadataValue } from './attributes';
import { buildCause, causeReference, type Cause } from './cause';
import { log } from '../log';

export interface HttpRequestData {
  method?: string;
  url?: string;
  user_agent?: string;
  client_ip?: string;
  x_forwarded_for?: boolean;
  traced?: boolean;
}
export interface HttpResponseData {
  status?: number;
  content_length?: number;
}
export interface HttpData {
  request?: HttpRequestData;
  response?: HttpResponseData;
}

/**
 * What an HTTP instrumentation records of one request, in one flat object: the `http` block of
 * spec §1.5 before anyone has looked at it. Why not the block itself (three objects): a finished
 * segment waits for the end of its turn (design decision 24), so every byte it holds is copied by
 * the young-generation collections of that turn, and the serializer can write a class of its own
 * field by field without checking for keys or types an app may have added (export/entity-json.ts).
 * Reading or setting `entity.http` turns it into the block, which is then the app's to change.
 */
export class HttpFacts {
  responded = false;
  status: number | undefined = undefined;
  content_length: number | undefined = undefined;

  constructor(
    readonly method: string | undefined,
    readonly url: string | undefined,
    readonly user_agent: string | undefined,
    readonly client_ip: string | undefined,
    readonly x_forwarded_for: true | undefined,
    readonly traced: true | undefined,
  ) {}

  respond(status: number, contentLength: number | undefined): void {
    this.responded = true;
    this.status = status;
    this.content_length = contentLength;
  }

  /** The block as JSON.stringify would see it (absent fields undefined, as the writer leaves them out). */
  toData(): HttpData {
    const { method, url, user_agent, client_ip, x_forwarded_for, traced } = this;
    return {
      request: { method, url, user_agent, client_ip, x_forwarded_for, traced },
      response: this.responded ? { status: this.status, content_length: this.content_length } : undefined,
    };
  }
}

/** What an entity needs from the recorder that owns it. */
export interface Tracer {
  readonly maxStackFrames: number;
  readonly maxSubsegmentsPerSegment: number;
  entityEnded(entity: Entity): void;
  /** An entity's open-children count dropped outside a close (decrementCounter). */
  childrenSettled(entity: Entity): void;
  subsegmentDropped(): void;
}

/**
 * Current time in epoch seconds, in whole microseconds (spec §1.2): finer digits carry no meaning
 * for X-Ray, and a whole-microsecond value is cheaper to write (export/entity-json.ts).
 */
export function nowSeconds(): number {
  if (timeOrigin < 0) timeOrigin = performance.timeOrigin;
  return Math.round((timeOrigin + performance.now()) * 1000) / 1e6;
}

// Fixed for the life of the process; read once, as each read of `performance.timeOrigin` goes
// through a getter and a brand check (~50 ns, twice per entity). Read at the first entity, not when
// this module loads: the first touch of the `performance` global makes Node load perf_hooks and
// eleven modules behind it (~1 ms of start-up, for a process that may never trace anything).
let timeOrigin = -1;

export abstract class Entity {
  readonly id: string;
  name: string;
  readonly start_time: number;
  end_time: number | undefined = undefined;
  namespace: 'aws' | 'remote' | undefined = undefined;
  /** The `http` block as an object (an app's, or made from httpFacts when it was read). */
  httpObject: HttpData | undefined = undefined;
  /** What an HTTP instrumentation recorded, until `http` is read or set (see HttpFacts). */
  httpFacts: HttpFacts | undefined = undefined;
  aws: Record<string, unknown> | undefined = undefined;
  sql: Record<string, unknown> | undefined = undefined;
  annotations: Record<string, string | number | boolean> | undefined = undefined;
  metadata: Record<string, Record<string, unknown>> | undefined = undefined;
  error = false;
  throttle = false;
  fault = false;
  cause: Cause | string | undefined = undefined;
  /** Embedded children still held by this entity (streamed ones are removed). */
  subsegments: Subsegment[] | undefined = undefined;
  /** Open descendants (at any depth); an entity's subtree is complete when it is closed and this is 0. */
  openChildren = 0;
  /** False for a subsegment handed out unrecorded: in no tree, never sent (see addNewSubsegment). */
  readonly recorded: boolean = true;

  abstract readonly segment: Segment;
  abstract readonly parent: Entity | undefined;

  constructor(name: string, fallbackName: string, startTime?: number, id?: string) {
    this.id = id ?? newEntityId();
    this.name = sanitizeName(name, fallbackName);
    this.start_time = startTime ?? nowSeconds();
  }

  get http(): HttpData | undefined {
    const facts = this.httpFacts;
    if (facts !== undefined) {
      this.httpFacts = undefined;
      this.httpObject = facts.toData();
    }
    return this.httpObject;
  }

  set http(block: HttpData | undefined) {
    this.httpFacts = undefined;
    this.httpObject = block;
  }

  /** The HTTP response status recorded so far, read without making the `http` block. */
  get httpStatus(): number | undefined {
    return this.httpFacts !== undefined ? this.httpFacts.status : this.httpObject?.response?.status;
  }

  /** Whether an HTTP response was recorded, read without making the `http` block. */
  get httpResponded(): boolean {
    return this.httpFacts !== undefined ? this.httpFacts.responded : this.httpObject?.response !== undefined;
  }

  /** Records the HTTP response (status, content length) in whichever form the block has. */
  recordHttpResponse(status: number, contentLength: number | undefined): void {
    if (this.httpFacts !== undefined) this.httpFacts.respond(status, contentLength);
    else (this.httpObject ??= {}).response = { status, content_length: contentLength };
  }

  get sampled(): boolean {
    return this.segment.sampledFlag;
  }

  isClosed(): boolean {
    return this.end_time !== undefined;
  }

  /** Annotation with the key/value rules of spec §1.8; invalid input is dropped with a debug line. */
  addAnnotation(key: string, value: string | number | boolean): void {
    if (!isValidAnnotationKey(key) || !isValidAnnotationValue(value)) {
      log.debug('annotation dropped: keys are [A-Za-z0-9_]+, values string, boolean or finite number', {
        key: String(key).slice(0, 100),
        valueType: typeof value,
      });
      return;
    }
    if (!this.records) return;
    // No prototype: a key such as `__proto__` is stored as the key it is.
    (this.annotations ??= Object.create(null) as Record<string, string | number | boolean>)[key] = value;
  }

  /** Metadata under a namespace (default "default"); any value, made JSON-safe now. */
  addMetadata(key: string, value: unknown, namespace = 'default'): void {
    if (typeof key !== 'string' || key.length === 0 || !isValidMetadataNamespace(namespace)) {
      log.debug('metadata dropped: key must be a non-empty string, namespace not starting with "AWS."', {
        key: String(key).slice(0, 100),
        namespace: String(namespace).slice(0, 100),
      });
      return;
    }
    if (!this.records) return;
    const md = (this.metadata ??= Object.create(null) as Record<string, Record<string, unknown>>);
    const ns = (md[namespace] ??= Object.create(null) as Record<string, unknown>);
    ns[key] = normalizeMetadataValue(value);
  }

  /**
   * Records an exception as `cause`. An error already recorded on a descendant is referenced by
   * its exception id instead of being written twice (spec §1.11). Sets `fault` unless the entity
   * already carries a 4xx status (DESIGN §6.3).
   */
  addError(err: unknown, remote = false): void {
    if (!this.records) return;
    this.addCause(err, remote);
    const status = this.httpStatus;
    if (status === undefined || status >= 500 || status < 400) this.fault = true;
  }

  /** Records the exception as `cause` without touching the flags (they come from a status). */
  addCause(err: unknown, remote = false): void {
    const ref = err !== null && typeof err === 'object' ? causeReference(err, this.segment) : undefined;
    if (ref !== undefined) {
      if (this.cause === undefined) this.cause = ref;
    } else {
      const built = buildCause(err, { remote, maxFrames: this.segment.tracer.maxStackFrames, scope: this.segment });
      if (this.cause !== undefined && typeof this.cause === 'object') {
        this.cause.exceptions.push(...built.exceptions);
      } else {
        this.cause = built;
      }
    }
  }

  addFaultFlag(): void {
    this.fault = true;
  }
  addErrorFlag(): void {
    this.error = true;
  }
  addThrottleFlag(): void {
    this.throttle = true;
  }

  /** Status → flags (DESIGN §6.3): 4xx error, 429 throttle + error, 5xx fault. */
  applyStatus(status: number): void {
    if (status >= 500) this.fault = true;
    else if (status >= 400) {
      this.error = true;
      if (status === 429) this.throttle = true;
    }
  }

  /**
   * Whether what is put on this entity is recorded: not for an unsampled trace, nor for a
   * subsegment handed out unrecorded (see addNewSubsegment).
   */
  get records(): boolean {
    return this.recorded && this.segment.sampledFlag;
  }

  /**
   * aws-xray-sdk-core's addNewSubsegment: always a subsegment, so code written for the SDK never
   * meets `undefined`. When this trace records no more (unsampled, at the subsegment cap, or this
   * entity itself unrecorded) it is an unrecorded one: it takes every call and sends nothing.
   */
  addNewSubsegment(name: string): Subsegment {
    return this.openSubsegment(name) ?? unrecordedSubsegment(name, this);
  }

  /** Creates a child subsegment in the trace, or returns undefined when it is not recorded or full. */
  openSubsegment(name: string): Subsegment | undefined {
    const segment = this.segment;
    if (!this.records) return undefined;
    if (segment.subsegmentCount >= segment.tracer.maxSubsegmentsPerSegment) {
      segment.tracer.subsegmentDropped();
      return undefined;
    }
    const sub = new Subsegment(name, this);
    (this.subsegments ??= []).push(sub);
    segment.subsegmentCount++;
    segment.heldCount++;
    for (let e: Entity | undefined = this; e !== undefined; e = e.parent) e.openChildren++;
    return sub;
  }

  /**
   * Holds this entity's segment open as if a child were running (aws-xray-sdk-core's counter):
   * used while a captured callback has not run yet. Pair with decrementCounter.
   */
  incrementCounter(): void {
    if (!this.recorded) return;
    for (let e: Entity | undefined = this; e !== undefined; e = e.parent) e.openChildren++;
  }

  decrementCounter(): void {
    if (!this.recorded) return;
    for (let e: Entity | undefined = this; e !== undefined; e = e.parent) e.openChildren--;
    this.segment.tracer.childrenSettled(this);
  }

  /** Ends the entity (optionally recording an error first). A second close is ignored. */
  close(err?: unknown, remote?: boolean): void {
    if (this.end_time !== undefined) return;
    // As aws-xray-sdk-core: a falsy argument (close(false), close(0)) is no error.
    if (err) this.addError(err, remote);
    this.end_time = nowSeconds();
    if (!this.recorded) return;
    const parent = this.parent;
    if (parent !== undefined) {
      for (let e: Entity | undefined = parent; e !== undefined; e = e.parent) e.openChildren--;
    }
    this.segment.tracer.entityEnded(this);
  }

  /** The X-Ray fields shared by segments and subsegments, in document order. */
  protected commonFields(out: Record<string, unknown>): Record<string, unknown> {
    if (this.end_time !== undefined) out.end_time = this.end_time;
    else out.in_progress = true;
    if (this.namespace !== undefined) out.namespace = this.namespace;
    if (this.http !== undefined) out.http = this.http;
    if (this.aws !== undefined) out.aws = this.aws;
    if (this.sql !== undefined) out.sql = this.sql;
    if (this.annotations !== undefined) out.annotations = this.annotations;
    if (this.metadata !== undefined) out.metadata = this.metadata;
    if (this.error) out.error = true;
    if (this.throttle) out.throttle = true;
    if (this.fault) out.fault = true;
    if (this.cause !== undefined) out.cause = this.cause;
    if (this.subsegments !== undefined && this.subsegments.length > 0) out.subsegments = this.subsegments;
    return out;
  }

  abstract toJSON(): Record<string, unknown>;
}

export interface SegmentOptions {
  name: string;
  traceId: string;
  parentId?: string;
  sampled: boolean;
  tracer: Tracer;
  /** Pass-through trace-header pairs (e.g. Lineage) to propagate downstream. */
  headerExtra?: string;
  startTime?: number;
  /** Only for a facade, whose id is the one Lambda gave its own segment. */
  id?: string;
}

export class Segment extends Entity {
  readonly trace_id: string;
  readonly parent_id: string | undefined;
  readonly sampledFlag: boolean;
  readonly tracer: Tracer;
  readonly headerExtra: string;
  origin: string | undefined = undefined;
  user: string | undefined = undefined;
  service: Record<string, unknown> | undefined = undefined;
  /** Subsegments ever created in this trace segment (for the cap). */
  subsegmentCount = 0;
  /** Subsegments currently held in the tree (embedded, not yet streamed). */
  heldCount = 0;
  /** True once the segment document has been sent (children that close later go on their own). */
  sent = false;
  /** A facade stands for a segment someone else sends (Lambda); it is never emitted itself. */
  facade = false;

  constructor(opts: SegmentOptions) {
    super(opts.name, 'service', opts.startTime, opts.id);
    this.trace_id = opts.traceId;
    this.parent_id = opts.parentId;
    this.sampledFlag = opts.sampled;
    this.tracer = opts.tracer;
    this.headerExtra = opts.headerExtra ?? '';
  }

  get segment(): Segment {
    return this;
  }
  get parent(): undefined {
    return undefined;
  }

  setUser(user: string): void {
    if (this.refuseOnFacade('setUser')) return;
    if (typeof user === 'string' && user.length > 0) this.user = user.slice(0, 250);
  }

  override addAnnotation(key: string, value: string | number | boolean): void {
    if (!this.refuseOnFacade('addAnnotation')) super.addAnnotation(key, value);
  }

  override addMetadata(key: string, value: unknown, namespace?: string): void {
    if (!this.refuseOnFacade('addMetadata')) super.addMetadata(key, value, namespace);
  }

  /** Lambda sends its own segment; data put on the facade would be silently lost, so say so. */
  private refuseOnFacade(what: string): boolean {
    if (!this.facade) return false;
    log.once(`facade.${what}`, 'warn', `${what}() on the Lambda function segment is ignored: Lambda records that segment itself; use a subsegment (captureFunc / captureAsyncFunc)`);
    return true;
  }

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      name: this.name,
      id: this.id,
      trace_id: this.trace_id,
      start_time: this.start_time,
    };
    if (this.parent_id !== undefined) out.parent_id = this.parent_id;
    if (this.origin !== undefined) out.origin = this.origin;
    if (this.user !== undefined) out.user = this.user;
    if (this.service !== undefined) out.service = this.service;
    return this.commonFields(out);
  }
}

export class Subsegment extends Entity {
  readonly parent: Entity;
  readonly segment: Segment;
  /** Set on outgoing HTTP calls that the downstream service traces too (spec §1.5). */
  traced = false;
  /** When true, toJSON writes the independent-document fields (type, trace_id, parent_id). */
  independent = false;

  /** `recorded` false: a stand-in outside the trace (Entity.addNewSubsegment), not counted or sent. */
  constructor(name: string, parent: Entity, recorded = true) {
    super(name, 'subsegment');
    this.parent = parent;
    this.segment = parent.segment;
    if (!recorded) (this as { recorded: boolean }).recorded = false;
  }

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name, id: this.id, start_time: this.start_time };
    if (this.independent) {
      out.type = 'subsegment';
      out.trace_id = this.segment.trace_id;
      out.parent_id = this.parent.id;
    }
    if (this.traced) out.traced = true;
    return this.commonFields(out);
  }
}

/** Receives nothing: the tracer of the stand-in segment below. */
const NO_TRACER: Tracer = {
  maxStackFrames: 0,
  maxSubsegmentsPerSegment: 0,
  entityEnded(): void {},
  childrenSettled(): void {},
  subsegmentDropped(): void {},
};
let detached: Segment | undefined;

/** A segment outside any trace (aws-xray-sdk-core's constructor with the agent off): records nothing. */
export function unrecordedSegment(name: string): Segment {
  return new Segment({ name, traceId: '1-00000000-000000000000000000000000', sampled: false, tracer: NO_TRACER });
}

/**
 * A subsegment that takes every call and records nothing, under `parent` (its trace records no
 * more there) or, for a manual API call with no segment to work in (no active one, the agent off),
 * under one shared unsampled stand-in segment, which records nothing either.
 */
export function unrecordedSubsegment(name: string, parent?: Entity): Subsegment {
  detached ??= new Segment({ name: 'unrecorded', traceId: '1-00000000-000000000000000000000000', sampled: false, tracer: NO_TRACER });
  return new Subsegment(name, parent ?? detached, false);
}
