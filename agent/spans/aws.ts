// Builds the subsegment of one AWS SDK call (spec §8.1, DESIGN §6.4–6.5) and the trace header sent
// with it (spec §3.4). Shared by both SDK generations: instrumentations/aws-sdk/v2 and v3 only
// extract plain facts from their SDK's objects (service id, operation, params, $metadata, the HTTP
// response, the SDK error) and call start/end. Everything X-Ray specific lives here once: the
// service name, the whitelist, retries = attempts − 1, request ids, status flags, throttling, the
// cause (remote when the service answered), and the hand-over of the call's HTTP request.
//
// The SDK sends each attempt through node:http (or fetch), which the HTTP client instrumentation
// also sees. An AWS call must be one subsegment, and the header AWS receives must name it as
// Parent. So the AWS subsegment *claims* its HTTP exchange: start() sets our header on the SDK's
// request and registers the subsegment with the HTTP span builder, which then leaves any request
// carrying a header whose Parent is a claimed subsegment alone (no subsegment, header untouched);
// end() releases the claim. The app's async context is never changed, so what the app does in a
// callback or on a response stream is recorded where it would be without an AWS call.

import type { Recorder } from '../recorder';
import type { Entity, Subsegment } from '../model/entity';
import { formatTraceHeader } from '../model/trace-header';
import type { HttpClientSpans } from './http-client';
import { parseContentLength } from './http-client';
import { log } from '../log';
import type { CompiledOperation, CompiledWhitelist } from './aws-whitelist';

export interface AwsCallFacts {
  /** The service's short name as the v3 clients spell it (`DynamoDB`, `S3`); see serviceName(). */
  service: string;
  /** UpperCamel operation (`PutItem`). */
  operation: string;
  /** Region, when the SDK knows it synchronously (else give it in the outcome). */
  region?: string;
  /** The request parameters as sent (read, never modified or kept). */
  params?: unknown;
  /** The request's own X-Amzn-Trace-Id value, if it already has one. */
  existingTraceHeader?: string;
}

export interface AwsOutcome {
  region?: string;
  /** Attempts made, the first included (v3 `$metadata.attempts`, v2 `retryCount + 1`). */
  attempts?: number;
  /** HTTP status of the last response, if one arrived. */
  status?: number;
  /** Content-Length of the last response (number or header string). */
  contentLength?: unknown;
  requestId?: string;
  /** S3's `x-amz-id-2`. */
  extendedRequestId?: string;
  /** Deserialized response data (read for the whitelist, never kept). */
  data?: unknown;
  /** The error the SDK gives the app. */
  error?: unknown;
  /** The SDK's own verdict that the error is throttling, where it has one. */
  throttled?: boolean;
}

export interface StartedAwsCall {
  /** Undefined when the trace is unsampled or full (the header is still propagated, Sampled=0). */
  readonly subsegment: Subsegment | undefined;
  /** Header value to set on the SDK's outgoing request; undefined to leave it untouched. */
  readonly traceHeader: string | undefined;
  /** @internal what the whitelist records for this operation. */
  readonly operation: CompiledOperation | undefined;
}

export interface AwsSpanOptions {
  /** Loads the whitelist on first use (the built-in one or the configured replacement). */
  loadWhitelist(): CompiledWhitelist;
}

/**
 * Error names the AWS SDKs classify as throttling (v3 `@smithy/service-error-classification`
 * THROTTLING_ERROR_CODES, v2 `Service#throttledError`), for errors the SDK gave no verdict on.
 */
const THROTTLING_NAMES = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);

const NOT_TRACED: StartedAwsCall = { subsegment: undefined, traceHeader: undefined, operation: undefined };

export class AwsSpans {
  private whitelist: CompiledWhitelist | undefined;
  private readonly names = new Map<string, string>();

  constructor(
    private readonly recorder: Recorder,
    private readonly httpClient: HttpClientSpans,
    private readonly options: AwsSpanOptions,
  ) {}

  /**
   * The subsegment name for an SDK service id (`DynamoDB`, `CloudWatch Logs`, `Elastic Load
   * Balancing v2`): its words capitalised and joined, which is how the v3 client classes are named
   * (`CloudWatchLogsClient`, `ElasticLoadBalancingV2Client`), so both SDK generations agree.
   */
  serviceName(serviceId: string): string {
    let name = this.names.get(serviceId);
    if (name === undefined) {
      name = serviceId
        .split(/\s+/)
        .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
        .join('');
      if (this.names.size < 1000) this.names.set(serviceId, name);
    }
    return name;
  }

  /**
   * Starts the subsegment of one call under `parent` (default: the current entity) and returns the
   * header to send. Nothing at all (no header either) when there is no entity to record under.
   */
  start(call: AwsCallFacts, parent: Entity | undefined = this.recorder.current()): StartedAwsCall {
    if (parent === undefined) {
      this.recorder.missingContext(`AWS call ${call.service}.${call.operation}`, false);
      return NOT_TRACED;
    }
    const segment = parent.segment;
    const sub = this.recorder.startSubsegment(call.service, parent);
    let operation: CompiledOperation | undefined;
    if (sub !== undefined) {
      sub.namespace = 'aws';
      const aws: Record<string, unknown> = { operation: call.operation };
      if (call.region) aws.region = call.region;
      operation = this.operationOf(call.service, call.operation);
      if (operation !== undefined) applyParams(operation, 'request', call.params, aws);
      sub.aws = aws;
    }
    // A header the app set for another trace is theirs to keep (spec §3.4): then the HTTP layer
    // sees a request it cannot tell apart from the app's own, and records it as usual.
    const existing = call.existingTraceHeader;
    if (existing !== undefined && !existing.includes(segment.trace_id)) return { subsegment: sub, traceHeader: undefined, operation };
    if (sub !== undefined) this.httpClient.claim(sub);
    const traceHeader = formatTraceHeader(segment.trace_id, sub?.id ?? parent.id, segment.sampledFlag, segment.headerExtra);
    return { subsegment: sub, traceHeader, operation };
  }

  /** Records the outcome and closes the subsegment (a call that was not traced is ignored). */
  end(call: StartedAwsCall, outcome: AwsOutcome): void {
    const sub = call.subsegment;
    if (sub === undefined) return;
    this.httpClient.release(sub);
    try {
      const aws = (sub.aws ??= {});
      if (aws.region === undefined && outcome.region) aws.region = outcome.region;
      if (typeof outcome.requestId === 'string' && outcome.requestId !== '') aws.request_id = outcome.requestId;
      if (typeof outcome.extendedRequestId === 'string' && outcome.extendedRequestId !== '') aws.id_2 = outcome.extendedRequestId;
      if (typeof outcome.attempts === 'number' && Number.isFinite(outcome.attempts)) aws.retries = Math.max(0, Math.floor(outcome.attempts) - 1);
      if (call.operation !== undefined && outcome.error == null) applyParams(call.operation, 'response', outcome.data, aws);

      const status = outcome.status;
      if (typeof status === 'number' && status >= 100) {
        const response: { status: number; content_length?: number } = { status };
        const length = parseContentLength(outcome.contentLength);
        if (length !== undefined) response.content_length = length;
        sub.http = { response };
        sub.applyStatus(status);
      }
      const err = outcome.error;
      if (err != null) {
        if (outcome.throttled === true || status === 429 || THROTTLING_NAMES.has(errorName(err))) {
          sub.addThrottleFlag();
          sub.addErrorFlag();
        }
        // The service answered: its error is remote. No answer (network, local): not remote, fault.
        sub.addError(err, sub.httpResponded);
      }
    } catch (e) {
      log.once('aws.end', 'error', 'AWS call instrumentation failed while recording a result', { error: String(e) });
    }
    sub.close();
  }

  private operationOf(service: string, operation: string): CompiledOperation | undefined {
    const whitelist = (this.whitelist ??= this.options.loadWhitelist());
    const ops = whitelist.get(service.toLowerCase());
    return ops?.get(operation.charAt(0).toLowerCase() + operation.slice(1));
  }
}

function applyParams(operation: CompiledOperation, side: 'request' | 'response', source: unknown, aws: Record<string, unknown>): void {
  try {
    operation[side](source, aws);
  } catch (e) {
    // A getter on the app's params that throws must not cost the app its call.
    log.once(`aws.params.${side}`, 'warn', `AWS ${side} parameters could not be recorded`, { error: String(e) });
  }
}

function errorName(err: unknown): string {
  if (err === null || typeof err !== 'object') return '';
  const e = err as { name?: unknown; code?: unknown };
  return typeof e.code === 'string' ? e.code : typeof e.name === 'string' ? e.name : '';
}
