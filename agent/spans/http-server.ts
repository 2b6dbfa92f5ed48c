// Builds the segment of an incoming HTTP request (spec §8.6) from plain facts an instrumentation
// extracted from its server library. Knows X-Ray, knows nothing of node:http's objects.

import type { Recorder } from '../recorder';
import { HttpFacts, type Segment } from '../model/entity';
import { parseTraceHeader, formatResponseHeader } from '../model/trace-header';
import { absoluteTarget, buildUrl, pathOnly } from './url';
import { log } from '../log';

export interface IncomingRequestFacts {
  method: string;
  scheme: 'http' | 'https';
  /** Host header (may include a port); undefined when the client sent none. */
  host: string | undefined;
  /** Request target as received (path and query). */
  path: string;
  traceHeader: string | string[] | undefined;
  userAgent: string | undefined;
  forwardedFor: string | string[] | undefined;
  remoteAddress: string | undefined;
}

export interface ServerSpanOptions {
  captureQueryString: boolean;
  responseTraceHeader: boolean;
}

export interface StartedRequest {
  segment: Segment;
  /** Value for the response's X-Amzn-Trace-Id header, or undefined to leave the response alone. */
  responseHeader: string | undefined;
}

export interface ResponseFacts {
  /** Status code, when response headers were sent. */
  status: number | undefined;
  contentLength: number | undefined;
  /** The connection closed before the response finished (client abort). */
  aborted: boolean;
}

export class HttpServerSpans {
  constructor(
    private readonly recorder: Recorder,
    private readonly options: ServerSpanOptions,
  ) {}

  start(req: IncomingRequestFacts): StartedRequest {
    const header = parseTraceHeader(req.traceHeader);
    if (header === undefined && req.traceHeader !== undefined) {
      log.debug('malformed X-Amzn-Trace-Id header ignored; starting a new trace');
    }
    // A proxy's request names its resource in full (http://host/path): that is the request's URL.
    const absolute = absoluteTarget(req.path);
    const host = absolute?.host ?? req.host ?? '';
    const path = absolute?.path ?? req.path;
    const segment = this.recorder.startSegment({
      header,
      sampling: { host, method: req.method, urlPath: pathOnly(path) },
    });
    const askedForDecision = header?.sampled === '?';
    const responseHeader =
      this.options.responseTraceHeader || askedForDecision
        ? formatResponseHeader(segment.trace_id, askedForDecision ? segment.sampledFlag : undefined)
        : undefined;
    if (segment.sampledFlag) {
      const forwarded = firstForwarded(req.forwardedFor);
      segment.httpFacts = new HttpFacts(
        req.method,
        buildUrl(absolute?.scheme ?? req.scheme, host || 'localhost', path, this.options.captureQueryString),
        req.userAgent === undefined ? undefined : req.userAgent.slice(0, 500),
        forwarded ?? req.remoteAddress,
        forwarded === undefined ? undefined : true,
        undefined,
      );
    }
    return { segment, responseHeader };
  }

  /** Records the response and ends the segment (DESIGN §6.16 for aborted requests). */
  end(segment: Segment, res: ResponseFacts): void {
    if (segment.sampledFlag) {
      if (res.status !== undefined) segment.recordHttpResponse(res.status, res.contentLength);
      if (res.aborted) segment.error = true;
      else if (res.status !== undefined) segment.applyStatus(res.status);
    }
    segment.close();
  }

  /** An exception escaped the request handler. */
  handlerError(segment: Segment, err: unknown): void {
    if (segment.sampledFlag) segment.addError(err);
  }
}

/** First entry of X-Forwarded-For, trimmed (the original client). */
function firstForwarded(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (typeof v !== 'string' || v.length === 0) return undefined;
  const comma = v.indexOf(',');
  const first = (comma === -1 ? v : v.slice(0, comma)).trim();
  return first.length > 0 && first.length <= 100 ? first : undefined;
}
