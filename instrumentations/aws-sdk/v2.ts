// AWS SDK for JavaScript v2 (`aws-sdk` 2.x). Every request of every service client is an
// `AWS.Request` that `AWS.Service.prototype.makeRequest` creates and hands to
// `addAllRequestListeners` before anything can send it; wrapping that one method (on the prototype,
// so clients created before or after are covered) attaches four listeners to each request, which
// then see it however the app sends it: callback, `.promise()`, `.send()`, `createReadStream()`,
// `eachPage()`, waiters. The patch is on `lib/core.js`, which both `require('aws-sdk')` and the
// per-service entry points (`aws-sdk/clients/dynamodb`) load.
//
// Our listeners are attached before the SDK's own, so they run first in each event:
//   validate      the first event of a send, emitted synchronously inside the app's send/promise
//                 call: the subsegment starts there, under the app's current entity (later events
//                 can run in the callback of a credential refresh that another request started);
//   afterBuild    the protocol has built the HttpRequest: the trace header goes on it, once for
//                 every attempt (X-Amzn-Trace-Id is not signed);
//   complete      after the last attempt, before the app's own callback or promise: the outcome;
//   beforePresign `getSignedUrl`/`presign` build a URL and send nothing: not traced.
// Listeners never throw: in the `complete` state the SDK rethrows a listener's error.

import type { ModuleInstrumentation, PatchContext } from '../../agent/hooks/definition';
import type { InstrumentationHost } from '../../agent/instrumentation';
import type { AwsOutcome, StartedAwsCall } from '../../agent/spans/aws';
import { wrap } from '../../agent/shim';
import { log } from '../../agent/log';

const TRACE_HEADER = 'X-Amzn-Trace-Id';

interface V2Service {
  api?: { serviceId?: unknown };
  serviceIdentifier?: unknown;
  throttledError?: (err: unknown) => unknown;
}

interface V2Request {
  on(event: string, listener: (...args: any[]) => void): unknown;
  service?: V2Service;
  operation?: unknown;
  params?: unknown;
  httpRequest?: { region?: unknown; headers?: Record<string, unknown> };
}

interface V2Response {
  request?: V2Request;
  error?: unknown;
  data?: unknown;
  retryCount?: unknown;
  requestId?: unknown;
  extendedRequestId?: unknown;
  httpResponse?: { statusCode?: unknown; headers?: Record<string, unknown> };
}

let host: InstrumentationHost | undefined;
/** Calls in flight, by request (a WeakMap: the app's request object is never written to). */
const calls = new WeakMap<object, StartedAwsCall>();
const presigned = new WeakSet<object>();

function patchCore(AWS: any, ctx: PatchContext): void {
  const proto = AWS?.Service?.prototype;
  if (typeof proto?.addAllRequestListeners !== 'function') throw new Error('AWS.Service.prototype.addAllRequestListeners not found');
  host = ctx.host;
  wrap(proto, 'addAllRequestListeners', (original) =>
    function addAllRequestListeners(this: unknown, request: V2Request) {
      listen(request);
      return Reflect.apply(original, this, arguments);
    },
  );
}

function listen(request: V2Request): void {
  try {
    if (request === null || typeof request !== 'object' || typeof request.on !== 'function') return;
    request.on('validate', onValidate);
    request.on('afterBuild', onAfterBuild);
    request.on('complete', onComplete);
    request.on('beforePresign', onBeforePresign);
  } catch (err) {
    log.once('aws.v2.listen', 'error', 'could not instrument an AWS SDK v2 request; it runs untraced', { error: String(err) });
  }
}

function onBeforePresign(this: V2Request): void {
  presigned.add(this);
}

function onValidate(this: V2Request): void {
  if (host === undefined || presigned.has(this) || calls.has(this)) return;
  try {
    const service = serviceName(this.service, host);
    const op = this.operation;
    if (service === undefined || typeof op !== 'string' || op === '') return;
    const region = this.httpRequest?.region;
    calls.set(
      this,
      host.aws.start({
        service,
        operation: op.charAt(0).toUpperCase() + op.slice(1),
        region: typeof region === 'string' ? region : undefined,
        params: this.params,
      }),
    );
  } catch (err) {
    log.once('aws.v2.start', 'error', 'AWS SDK v2 instrumentation failed on a call; it runs untraced', { error: String(err) });
  }
}

function onAfterBuild(this: V2Request): void {
  const call = calls.get(this);
  if (call?.traceHeader === undefined) return;
  try {
    const headers = this.httpRequest?.headers;
    if (headers === null || typeof headers !== 'object') return;
    // A header the app's own listener put there is kept (spec §3.4).
    for (const k of Object.keys(headers)) if (k.toLowerCase() === 'x-amzn-trace-id' && k !== TRACE_HEADER) return;
    if (headers[TRACE_HEADER] === undefined) headers[TRACE_HEADER] = call.traceHeader;
  } catch (err) {
    log.once('aws.v2.header', 'error', 'AWS SDK v2 instrumentation could not add the trace header', { error: String(err) });
  }
}

function onComplete(this: V2Request, response: V2Response): void {
  const call = calls.get(this);
  if (call === undefined || host === undefined) return;
  calls.delete(this);
  let outcome: AwsOutcome = {};
  try {
    outcome = outcomeOf(this, response);
  } catch (err) {
    log.once('aws.v2.outcome', 'error', 'AWS SDK v2 instrumentation could not read a call result', { error: String(err) });
  }
  try {
    host.aws.end(call, outcome);
  } catch (err) {
    log.once('aws.v2.end', 'error', 'AWS SDK v2 instrumentation failed to end a call', { error: String(err) });
  }
}

function outcomeOf(request: V2Request, response: V2Response): AwsOutcome {
  const err = response?.error ?? undefined;
  const e = (err !== null && typeof err === 'object' ? err : {}) as { requestId?: unknown; extendedRequestId?: unknown; statusCode?: unknown };
  const http = response?.httpResponse;
  const status = typeof http?.statusCode === 'number' && http.statusCode > 0 ? http.statusCode : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const retries = response?.retryCount;
  let throttled: boolean | undefined;
  if (err != null && typeof request.service?.throttledError === 'function') {
    throttled = request.service.throttledError(err) === true ? true : undefined;
  }
  return {
    attempts: typeof retries === 'number' ? retries + 1 : undefined,
    status,
    contentLength: status !== undefined ? http?.headers?.['content-length'] : undefined,
    requestId: firstString(response?.requestId, e.requestId),
    extendedRequestId: firstString(response?.extendedRequestId, e.extendedRequestId),
    data: response?.data,
    error: err,
    throttled,
  };
}

/**
 * The v3-style name (DESIGN §6.5) from the API model's `serviceId` (exposed on `service.api` from
 * 2.305.0, the supported floor); for a model without one, the v2 identifier (`dynamodb`).
 */
function serviceName(service: V2Service | undefined, h: InstrumentationHost): string | undefined {
  const id = service?.api?.serviceId;
  if (typeof id === 'string' && id !== '') return h.aws.serviceName(id);
  const identifier = service?.serviceIdentifier;
  return typeof identifier === 'string' && identifier !== '' ? identifier : undefined;
}

function firstString(a: unknown, b: unknown): string | undefined {
  if (typeof a === 'string' && a !== '') return a;
  return typeof b === 'string' && b !== '' ? b : undefined;
}

export const awsSdkV2: ModuleInstrumentation = {
  name: 'aws-sdk',
  module: 'aws-sdk',
  // 2.305.0: the first release whose API models expose `serviceId`, which names the subsegment.
  versions: ['>=2.305.0 <3'],
  files: [{ file: 'lib/core.js', patch: patchCore }],
};
