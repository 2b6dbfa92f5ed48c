// The middleware the agent adds to each v3 client's stack, and the facts it hands to the shared AWS
// span builder (agent/spans/aws). Only reads the SDK's objects; the one write is the trace header,
// on the HttpRequest the serializer built for this call (never on the app's command or input).
//
// Step `build`, priority `high`, as the X-Ray SDK's own middleware:
//   * it runs once per call, outside `finalizeRequest` where the retry loop lives, so one
//     subsegment spans every attempt and the backoff between them, and what comes back up carries
//     the final `$metadata` (`attempts`, request ids, status) and, on success, the raw HTTP response
//     of the last attempt (`response`: Content-Length, which `$metadata` lacks);
//   * the header set here (before signing — X-Amzn-Trace-Id is unsigned) is the one every attempt
//     sends, and it is set before the SDK's recursion-detection middleware (`build`, `low`), which
//     only fills the header in when absent;
//   * serialization (`serialize`) is local work before the call, left out as the X-Ray SDK does.
// The result is observed through a promise chained to `next`'s, which the middleware returns.

import type { InstrumentationHost } from '../../agent/instrumentation';
import type { AwsOutcome, StartedAwsCall } from '../../agent/spans/aws';
import { log } from '../../agent/log';
import { isThenable, observeSettled } from '../../agent/settled';

const MIDDLEWARE_NAME = 'XRayAgentAwsSdkInstrumentation';
/** What the X-Ray SDK's captureAWSv3Client adds: a client that has it is already traced. */
const XRAY_SDK_MIDDLEWARE = 'XRaySDKInstrumentation';
const TRACE_HEADER = 'X-Amzn-Trace-Id';

interface MiddlewareStack {
  add(middleware: unknown, options: Record<string, unknown>): void;
  identify?(): string[];
}

interface ClientLike {
  config?: { serviceId?: unknown; region?: unknown };
  middlewareStack?: MiddlewareStack;
}

interface HandlerContext {
  clientName?: unknown;
  commandName?: unknown;
  __smithy_context?: { operation?: unknown };
}

interface HttpMessage {
  statusCode?: unknown;
  headers?: Record<string, unknown>;
}

type Handler = (args: { input?: unknown; request?: { headers?: Record<string, unknown> } }) => unknown;

/** Stacks that already carry the middleware (lib-dynamodb's document client shares its client's). */
const instrumented = new WeakSet<object>();

/** Adds the middleware to `client`'s stack on its first send. Never throws. */
export function addMiddleware(client: unknown, host: InstrumentationHost): void {
  try {
    const stack = (client as ClientLike | null)?.middlewareStack;
    if (stack === null || typeof stack !== 'object' || instrumented.has(stack)) return;
    instrumented.add(stack);
    if (typeof stack.add !== 'function') return;
    if (typeof stack.identify === 'function' && stack.identify().some((n) => n.startsWith(XRAY_SDK_MIDDLEWARE))) {
      log.debug('AWS SDK v3 client already instrumented by the X-Ray SDK; left to it');
      return;
    }
    const facts = new ClientFacts((client as ClientLike).config, host);
    stack.add(middleware(facts, host), { step: 'build', priority: 'high', name: MIDDLEWARE_NAME, tags: ['XRAY'], override: true });
  } catch (err) {
    log.once('aws.v3.add', 'error', 'could not instrument an AWS SDK v3 client; its calls run untraced', { error: String(err) });
  }
}

/** What is the same for every call of one client: its service name and region. */
class ClientFacts {
  private service: string | undefined;
  region: string | undefined;

  constructor(
    private readonly config: ClientLike['config'],
    private readonly host: InstrumentationHost,
  ) {
    // The region is an async provider; it is asked once, here, and has answered long before the
    // first call comes back (the SDK resolves the same memoized provider for that call anyway).
    const region = config?.region;
    if (typeof region === 'string') this.region = region;
    else if (typeof region === 'function') {
      Promise.resolve((region as () => unknown)()).then(
        (r) => {
          if (typeof r === 'string') this.region = r;
        },
        () => undefined,
      );
    }
  }

  /** `DynamoDB`, `S3`: from the service id the client's config carries, else its class name. */
  serviceName(context: HandlerContext): string | undefined {
    if (this.service !== undefined) return this.service;
    const id = this.config?.serviceId;
    if (typeof id === 'string' && id !== '') this.service = this.host.aws.serviceName(id);
    else if (typeof context.clientName === 'string') this.service = context.clientName.replace(/Client$/, '');
    return this.service;
  }
}

function middleware(facts: ClientFacts, host: InstrumentationHost) {
  return (next: Handler, context: HandlerContext): Handler =>
    function xrayAgentAwsCall(args) {
      const call = startCall(facts, host, args, context);
      let result: unknown;
      try {
        result = next(args);
      } catch (err) {
        if (call !== undefined) endCall(host, call, () => errorOutcome(err, facts));
        throw err;
      }
      return call !== undefined ? observe(result, call, facts, host) : result;
    };
}

function startCall(facts: ClientFacts, host: InstrumentationHost, args: Parameters<Handler>[0], context: HandlerContext): StartedAwsCall | undefined {
  try {
    const service = facts.serviceName(context);
    const operation = operationName(context);
    if (service === undefined || operation === undefined) return undefined;
    const headers = args?.request?.headers;
    const headerKey = headers !== null && typeof headers === 'object' ? findHeader(headers) : undefined;
    const existing = headerKey !== undefined ? headers![headerKey] : undefined;
    const call = host.aws.start({
      service,
      operation,
      region: facts.region,
      params: args?.input,
      existingTraceHeader: typeof existing === 'string' ? existing : undefined,
    });
    if (call.traceHeader !== undefined && headers !== null && typeof headers === 'object') {
      headers[headerKey ?? TRACE_HEADER] = call.traceHeader;
    }
    return call;
  } catch (err) {
    log.once('aws.v3.start', 'error', 'AWS SDK v3 instrumentation failed on a call; it runs untraced', { error: String(err) });
    return undefined;
  }
}

/**
 * Ends the call when `next`'s promise settles, and returns a promise of the very same outcome for
 * the middleware above (agent/settled.ts): the subsegment is closed before the app sees the result.
 */
function observe(result: unknown, call: StartedAwsCall, facts: ClientFacts, host: InstrumentationHost): unknown {
  if (!isThenable(result)) {
    endCall(host, call, () => ({ region: facts.region }));
    return result;
  }
  return observeSettled(
    result,
    (r) => endCall(host, call, () => successOutcome(r as { output?: Record<string, unknown>; response?: HttpMessage }, facts)),
    (e) => endCall(host, call, () => errorOutcome(e, facts)),
  );
}

/** Ends the call even if reading the outcome fails (the subsegment then has what it had). */
function endCall(host: InstrumentationHost, call: StartedAwsCall, outcome: () => AwsOutcome): void {
  let o: AwsOutcome = {};
  try {
    o = outcome();
  } catch (err) {
    log.once('aws.v3.outcome', 'error', 'AWS SDK v3 instrumentation could not read a call result', { error: String(err) });
  }
  host.aws.end(call, o);
}

function successOutcome(r: { output?: Record<string, unknown>; response?: HttpMessage } | undefined, facts: ClientFacts): AwsOutcome {
  const output = r?.output;
  return { ...responseFacts(output?.$metadata as Metadata | undefined, r?.response, facts), data: output };
}

function errorOutcome(err: unknown, facts: ClientFacts): AwsOutcome {
  const e = (err !== null && typeof err === 'object' ? err : {}) as {
    $metadata?: Metadata;
    $response?: HttpMessage;
    $retryable?: { throttling?: unknown };
  };
  return {
    ...responseFacts(e.$metadata, e.$response, facts),
    error: err,
    // The SDK's own classification (set by its retry strategy); the span builder also checks the
    // status and the well-known throttling error names.
    throttled: e.$retryable?.throttling === true ? true : undefined,
  };
}

/** What a result and an error both tell: the SDK's $metadata, else the raw HTTP response. */
function responseFacts(md: Metadata | undefined, response: HttpMessage | undefined, facts: ClientFacts): AwsOutcome {
  return {
    region: facts.region,
    attempts: md?.attempts,
    status: numberOr(md?.httpStatusCode, response?.statusCode),
    contentLength: response?.headers?.['content-length'],
    requestId: stringOr(md?.requestId, response?.headers?.['x-amzn-requestid'], response?.headers?.['x-amz-request-id']),
    extendedRequestId: stringOr(md?.extendedRequestId, response?.headers?.['x-amz-id-2']),
  };
}

interface Metadata {
  httpStatusCode?: unknown;
  requestId?: unknown;
  extendedRequestId?: unknown;
  attempts?: number;
}

/** `PutItem` from the command name `PutItemCommand` (or the smithy operation name). */
function operationName(context: HandlerContext): string | undefined {
  const name = context?.commandName;
  if (typeof name === 'string' && name !== '') return name.endsWith('Command') ? name.slice(0, -7) : name;
  const op = context?.__smithy_context?.operation;
  return typeof op === 'string' && op !== '' ? op : undefined;
}

function findHeader(headers: Record<string, unknown>): string | undefined {
  if (TRACE_HEADER in headers) return TRACE_HEADER;
  for (const k of Object.keys(headers)) if (k.length === 15 && k.toLowerCase() === 'x-amzn-trace-id') return k;
  return undefined;
}

function numberOr(...values: unknown[]): number | undefined {
  for (const v of values) if (typeof v === 'number') return v;
  return undefined;
}

function stringOr(...values: unknown[]): string | undefined {
  for (const v of values) if (typeof v === 'string' && v !== '') return v;
  return undefined;
}
