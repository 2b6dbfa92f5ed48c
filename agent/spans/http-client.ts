// Builds the subsegment of an outgoing HTTP call (spec §8.5) and the trace header to send with it
// (spec §3.4). Shared by every HTTP client instrumentation (node:http, fetch/undici, …), which
// only extract facts from their library's objects and call these methods.

import type { Recorder } from '../recorder';
import { HttpFacts, type Entity, type Subsegment } from '../model/entity';
import { formatTraceHeader } from '../model/trace-header';
import { absoluteTarget, buildUrl, hostnameOf } from './url';

export interface OutgoingRequestFacts {
  method: string;
  scheme: string;
  /** Host with port when not the scheme's default (e.g. `api:8080`). */
  host: string;
  path: string;
  /** The caller's own X-Amzn-Trace-Id value, if the request already has one. */
  existingTraceHeader?: string;
}

export interface ClientSpanOptions {
  captureQueryString: boolean;
  downstreamTraced: boolean;
}

export interface StartedCall {
  /** Undefined when the trace is unsampled (the header is still propagated with Sampled=0). */
  subsegment: Subsegment | undefined;
  /** Header value to add to the request; undefined to leave the request untouched. */
  traceHeader: string | undefined;
}

const NOT_TRACED: StartedCall = { subsegment: undefined, traceHeader: undefined };

/**
 * Claims held at once at most. A claim is released when its call ends; the cap only matters if
 * calls never end, and then the HTTP requests of further calls are simply recorded as well.
 */
const MAX_CLAIMS = 10_000;

export class HttpClientSpans {
  /** Ids of open subsegments that record their own HTTP requests (see claim). */
  private readonly claimed = new Set<string>();

  constructor(
    private readonly recorder: Recorder,
    private readonly options: ClientSpanOptions,
  ) {}

  /**
   * `sub` records the HTTP requests made for it itself (an AWS SDK call: one subsegment for the
   * call, its retries included). Until release(sub), a request whose X-Amzn-Trace-Id names `sub` as
   * Parent — the header `sub`'s owner put on it — gets no subsegment here and keeps that header.
   * Matching on the header, not on the async context, leaves the app's context untouched.
   */
  claim(sub: Subsegment): void {
    if (this.claimed.size < MAX_CLAIMS) this.claimed.add(sub.id);
  }

  release(sub: Subsegment): void {
    this.claimed.delete(sub.id);
  }

  start(req: OutgoingRequestFacts, parent: Entity | undefined = this.recorder.current()): StartedCall {
    const existing = req.existingTraceHeader;
    if (existing !== undefined && this.claimed.size > 0 && this.claimed.has(parentIdOf(existing))) return NOT_TRACED;
    if (parent === undefined) {
      this.recorder.missingContext(`outgoing HTTP call to ${hostnameOf(req.host)}`, false);
      return NOT_TRACED;
    }
    const segment = parent.segment;
    // A request through a forward proxy names its resource in full (http://host/path): the call is
    // to that host, not to the proxy.
    const absolute = absoluteTarget(req.path);
    const host = absolute?.host ?? req.host;
    const sub = this.recorder.startSubsegment(hostnameOf(host), parent);
    if (sub !== undefined) {
      sub.namespace = 'remote';
      sub.httpFacts = new HttpFacts(
        req.method,
        buildUrl(absolute?.scheme ?? req.scheme, host, absolute?.path ?? req.path, this.options.captureQueryString),
        undefined,
        undefined,
        undefined,
        this.options.downstreamTraced ? true : undefined,
      );
      if (this.options.downstreamTraced) sub.traced = true;
    }
    // A header the caller set for another trace is theirs to keep; one that carries this trace's
    // Root (copied by a redirect-following client, or propagated by hand) is refreshed.
    if (existing !== undefined && !existing.includes(segment.trace_id)) return { subsegment: sub, traceHeader: undefined };
    const traceHeader = formatTraceHeader(segment.trace_id, sub?.id ?? parent.id, segment.sampledFlag, segment.headerExtra);
    return { subsegment: sub, traceHeader };
  }

  response(sub: Subsegment, status: number, contentLength: number | undefined): void {
    sub.recordHttpResponse(status, contentLength);
    sub.applyStatus(status);
  }

  /** A network error, timeout or abort: recorded as cause; fault unless a 4xx had arrived. */
  error(sub: Subsegment, err: unknown): void {
    sub.addError(err, sub.httpResponded);
  }

  end(sub: Subsegment): void {
    sub.close();
  }
}

/** The 16-hex Parent of a header this agent formatted (`Root=…;Parent=<id>;…`), else ''. */
function parentIdOf(header: string): string {
  const i = header.indexOf(';Parent=');
  return i === -1 ? '' : header.slice(i + 8, i + 24);
}

/** Parses a Content-Length header value; undefined unless it is a plain non-negative integer. */
export function parseContentLength(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > 15) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
