// node:http and node:https clients: `request` and `get` of both modules are wrapped (every client
// library — axios, got, follow-redirects, … — ends up there). The trace header is set on the
// ClientRequest right after it is created, before anything is sent (in the head Node may have built
// already, ./head.ts); the caller's options object is never touched. The rest is observed through
// the diagnostics channels Node publishes:
//   http.client.response.finish → status and content length
//   http.client.request.error   → cause (older Node minors without it record the fault only)
//   request 'close'             → end (after the response body, an error or an abort)
// A 'close' listener changes nothing for the app, unlike 'error' or 'response' listeners would.
// (http.client.request.start cannot be used for the header: Node publishes it after the headers
// are already stored.)

import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { BuiltinInstrumentation, InstrumentationHost } from '../../agent/instrumentation';
import type { Subsegment } from '../../agent/model/entity';
import { parseContentLength } from '../../agent/spans/http-client';
import { log } from '../../agent/log';
import { wrap, unwrap } from '../../agent/shim';
import { whenBuiltinLoaded } from '../../agent/hooks/builtin-load';
import { builtHead, traceHeaderIn, withTraceHeaderSet } from './head';
import { requestAuthority } from './target';

const SUBSEGMENT = Symbol('xray.subsegment');

type TracedRequest = ClientRequest & { [SUBSEGMENT]?: Subsegment; protocol?: string; host?: string; agent?: unknown };

let host: InstrumentationHost | undefined;

type ClientModule = { request: (...args: any[]) => ClientRequest; get: (...args: any[]) => ClientRequest };

/* eslint-disable @typescript-eslint/no-require-imports */
const clientModule = (name: 'http' | 'https'): ClientModule => require(`node:${name}`) as ClientModule;
/* eslint-enable @typescript-eslint/no-require-imports */

function patchModule(mod: ClientModule): void {
  wrap(mod, 'request', wrapRequest);
  wrap(mod, 'get', wrapGet(mod));
}

function wrapRequest(original: (...args: any[]) => ClientRequest) {
  return function request(this: unknown): ClientRequest {
    const req = Reflect.apply(original, this, arguments) as TracedRequest;
    if (host !== undefined) onRequestStart(host, req, arguments);
    return req;
  };
}

/** Node's own `get` calls its module-internal `request`; ours calls the wrapped one, then end(). */
function wrapGet(mod: { request: (...args: any[]) => ClientRequest }) {
  return () =>
    function get(this: unknown): ClientRequest {
      const req = Reflect.apply(mod.request, mod, arguments) as ClientRequest;
      req.end();
      return req;
    };
}

function onRequestStart(h: InstrumentationHost, req: TracedRequest, args: IArguments): void {
  try {
    if (h.isAgentOwn(req.agent)) return;
    const protocol = req.protocol ?? 'http:';
    const head = req.headersSent ? unsentHead(req as RequestInternals) : undefined;
    const existing = head !== undefined ? traceHeaderIn(head) : req.getHeader('x-amzn-trace-id');
    const scheme = protocol.slice(0, -1);
    const started = h.httpClient.start({
      method: req.method,
      scheme,
      host: requestAuthority(args, req.host ?? 'localhost', scheme, (req.agent as { defaultPort?: unknown } | undefined)?.defaultPort),
      path: req.path,
      // A value set as an array (or a number) is the caller's too: judged by its first element.
      existingTraceHeader: existing === undefined || typeof existing === 'string' ? existing : String(Array.isArray(existing) ? existing[0] : existing),
    });
    if (started.traceHeader !== undefined) {
      if (head !== undefined) replaceUnsentHead(req as RequestInternals, head, withTraceHeaderSet(head, started.traceHeader));
      else if (!req.headersSent) req.setHeader('X-Amzn-Trace-Id', started.traceHeader);
      else log.once('http.client.headSent', 'debug', 'an outgoing request had its head built in a way not known here; it goes without the trace header', {});
    }
    if (started.subsegment !== undefined) {
      req[SUBSEGMENT] = started.subsegment;
      req.on('close', onRequestClose);
    }
  } catch (err) {
    log.once('http.client.start', 'error', 'http client instrumentation failed on a request; it runs untraced', {
      error: String(err),
    });
  }
}

type RequestInternals = { _header?: unknown; _headerSent?: boolean; outputData?: Array<{ data?: unknown }>; outputSize?: number; socket?: unknown };

/**
 * The head of a request Node built in its constructor, while it can still be changed. getHeader
 * and setHeader no longer serve such a head: it is read and set as text (./head.ts). Two cases:
 * - headers given as a raw array: the head waits in `_header`;
 * - an Expect header: Node queues the head at once as the request's first output chunk, which
 *   waits there until the request has its socket (assigned on a later tick, never inside the
 *   constructor).
 * Anything else (a head already on its way): undefined.
 */
function unsentHead(req: RequestInternals): string | undefined {
  const head = builtHead(req);
  if (head === undefined || !req._headerSent) return head;
  const out = req.outputData;
  return req.socket == null && Array.isArray(out) && out.length === 1 && out[0]?.data === head ? head : undefined;
}

function replaceUnsentHead(req: RequestInternals, head: string, next: string): void {
  req._header = next;
  if (!req._headerSent) return;
  req.outputData![0]!.data = next;
  if (typeof req.outputSize === 'number') req.outputSize += next.length - head.length;
}

function onResponse(message: unknown): void {
  const { request, response } = message as { request: TracedRequest; response: IncomingMessage };
  const sub = request[SUBSEGMENT];
  if (sub === undefined || host === undefined) return;
  try {
    host.httpClient.response(sub, response.statusCode ?? 0, parseContentLength(response.headers['content-length']));
  } catch (err) {
    log.once('http.client.response', 'error', 'http client instrumentation failed on a response', { error: String(err) });
  }
}

function onError(message: unknown): void {
  const { request, error } = message as { request: TracedRequest; error: unknown };
  const sub = request[SUBSEGMENT];
  if (sub === undefined || host === undefined) return;
  try {
    host.httpClient.error(sub, error);
  } catch (err) {
    log.once('http.client.error', 'error', 'http client instrumentation failed on an error', { error: String(err) });
  }
}

/** Shared listener; `this` is the request. */
function onRequestClose(this: TracedRequest): void {
  const sub = this[SUBSEGMENT];
  if (sub === undefined || host === undefined) return;
  this[SUBSEGMENT] = undefined;
  try {
    // No response and no error reported (older Node without the error channel): still a fault.
    if (!sub.httpResponded && sub.cause === undefined) sub.addFaultFlag();
    host.httpClient.end(sub);
  } catch (err) {
    log.once('http.client.end', 'error', 'http client instrumentation failed to end a subsegment', { error: String(err) });
  }
}

const CHANNELS: Array<[string, (m: unknown) => void]> = [
  ['http.client.response.finish', onResponse],
  ['http.client.request.error', onError],
];

export const httpClient: BuiltinInstrumentation = {
  name: 'http',
  target: 'node:http and node:https clients (request, get)',
  install(h: InstrumentationHost): void {
    host = h;
    // Patched when the app starts using them, not at start-up (agent/hooks/builtin-load.ts).
    whenBuiltinLoaded('http', () => patchModule(clientModule('http')));
    whenBuiltinLoaded('https', () => patchModule(clientModule('https')));
    for (const [name, fn] of CHANNELS) diagnostics.subscribe(name, fn);
  },
  uninstall(): void {
    host = undefined;
    for (const name of ['http', 'https'] as const) {
      unwrap(clientModule(name), 'request');
      unwrap(clientModule(name), 'get');
    }
    for (const [name, fn] of CHANNELS) diagnostics.unsubscribe(name, fn);
  },
};
