// node:http and node:https servers: one segment per incoming request. Every framework built on
// Node's HTTP server (express, koa, fastify, hapi, nest, …) goes through `Server#emit('request')`
// (or 'checkContinue' / 'checkExpectation', see isRequestEvent), so wrapping that one method of
// both server prototypes covers them all, for CommonJS and ESM alike. The handler runs inside the
// segment's context; the segment ends when the response emits 'close' (which follows 'finish', or
// marks a client abort). The X-Amzn-Trace-Id response header is added when the response head is
// written (ServerResponse#writeHead, which implicit headers go through too), so frameworks that
// reset headers on errors (koa) still send it, and an app that set its own value keeps it.
// Node emits a request's 'data'/'end' and a response's 'finish'/'close' from the connection's
// async context, not the request's, so listeners the app adds (a body reader that then calls a
// downstream service) would run outside the segment. `emit` of both prototypes re-enters the
// request's segment for those events, only when the context has lost it.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { BuiltinInstrumentation, InstrumentationHost } from '../../agent/instrumentation';
import type { HttpServerSpans } from '../../agent/spans/http-server';
import type { Segment } from '../../agent/model/entity';
import { wrap, unwrap } from '../../agent/shim';
import { whenBuiltinLoaded } from '../../agent/hooks/builtin-load';
import { active, runApply } from '../../agent/context';
import { parseContentLength } from '../../agent/spans/http-client';
import { log } from '../../agent/log';
import { builtHead, contentLengthIn, hasTraceHeader, withTraceHeaderAdded } from './head';

const SEGMENT = Symbol('xray.segment');
const TRACE_HEADER = Symbol('xray.responseTraceHeader');
/** The request's segment on both req and res, for their events (kept until they are collected). */
const CONTEXT = Symbol('xray.requestContext');
/** The response of a request, on the request (see requestClosed). */
const RESPONSE = Symbol('xray.response');

type TracedResponse = ServerResponse & { [SEGMENT]?: Segment; [TRACE_HEADER]?: string; [CONTEXT]?: Segment };
type TracedRequest = IncomingMessage & { [CONTEXT]?: Segment; [RESPONSE]?: TracedResponse };

let spans: HttpServerSpans | undefined;

type HttpModule = typeof import('node:http');

/** The server-side patches of one module (https shares ServerResponse and IncomingMessage). */
function patchModule(mod: HttpModule, withMessages: boolean): void {
  wrap(mod.Server.prototype, 'emit', wrapEmit);
  if (!withMessages) return;
  wrap(mod.ServerResponse.prototype, 'writeHead', wrapWriteHead);
  for (const proto of [mod.IncomingMessage.prototype, mod.ServerResponse.prototype]) wrap(proto, 'emit', wrapMessageEmit);
}

function unpatchModule(mod: HttpModule, withMessages: boolean): void {
  unwrap(mod.Server.prototype, 'emit');
  if (!withMessages) return;
  unwrap(mod.ServerResponse.prototype, 'writeHead');
  for (const proto of [mod.IncomingMessage.prototype, mod.ServerResponse.prototype]) unwrap(proto, 'emit');
}

/* eslint-disable @typescript-eslint/no-require-imports */
const httpModule = (): HttpModule => require('node:http') as HttpModule;
const httpsModule = (): HttpModule => require('node:https') as HttpModule;
/* eslint-enable @typescript-eslint/no-require-imports */

function wrapMessageEmit(original: (...args: any[]) => boolean) {
  // `arguments` below only ever goes to Reflect.apply, so V8 passes the caller's arguments on
  // without making an arguments object for each of a request's ~6 events (measured: ~370 bytes
  // per request less to collect). The two paths that change the context do it in these functions,
  // whose own `arguments` is made only when they run.
  function emitInRequest(this: TracedResponse): boolean {
    return runApply(this[CONTEXT], original, this, arguments);
  }
  function emitOutside(this: TracedResponse): boolean {
    return runApply(undefined, original, this, arguments);
  }
  return function emit(this: TracedResponse, type: string | symbol): boolean {
    const segment = this[CONTEXT];
    if (segment === undefined) return Reflect.apply(original, this, arguments);
    // The response's 'close' (after 'finish', or a client abort) ends the segment, before the
    // app's own 'close' listeners run. Seen here rather than through a listener of ours: nothing
    // to add per request, and nothing an app's removeAllListeners('close') could take away.
    if (type === 'close') {
      if (this[SEGMENT] !== undefined) endSegment(this);
      else requestClosed(this as unknown as TracedRequest);
    }
    // Node's own bookkeeping alone (no listener of the app's): the response's 'finish' arms the
    // connection's keep-alive timer and starts on the next pipelined request, none of which belongs
    // to this request; run outside any entity, the timer does not keep the finished segment alive
    // for as long as the connection idles (10 connections kept 10 segments alive, promoted by every
    // scavenge: V8 then grew its young generation several times sooner).
    if (onlyNodeListener(this, type)) return Reflect.apply(type === 'finish' ? emitOutside : original, this, arguments);
    // Nothing listens (a request body nobody reads, a 'close' nobody watches): no code runs that
    // could need the context, so entering it would only cost time. listenerCount first: the
    // cheaper test, and the common answer for most of a request's events.
    if (this.listenerCount(type) === 0 || active() === segment) return Reflect.apply(original, this, arguments);
    return Reflect.apply(emitInRequest, this, arguments);
  };
}

// The listeners Node's HTTP server adds itself: a response's 'finish' (resOnFinish, bound per
// request before the app sees the response) and a request's 'end' (clearIncoming, added when the
// response finishes before the request's body was read). Recognised by name: should Node rename
// them, they are treated as the app's, as before. A bound function's name is built anew at each
// read (~0.1 µs), so for 'finish' it is read once per process: after that, a single 'finish'
// listener is taken to be Node's (an app's listener comes on top of it).
let finishListenerIsNodes: boolean | undefined;

function onlyNodeListener(emitter: TracedResponse, type: string | symbol): boolean {
  if (type !== 'finish' && type !== 'end') return false;
  const listener = (emitter as unknown as { _events?: Record<string, unknown> })._events?.[type];
  if (typeof listener !== 'function') return false; // none, or several
  if (type === 'end') return listener.name === 'clearIncoming';
  return (finishListenerIsNodes ??= listener.name === 'bound resOnFinish');
}

function wrapWriteHead(original: (...args: any[]) => unknown) {
  return function writeHead(this: TracedResponse): unknown {
    const value = this[TRACE_HEADER];
    if (value === undefined) return Reflect.apply(original, this, arguments);
    this[TRACE_HEADER] = undefined;
    if (!appendAfterWriteHead) {
      addHeaderBefore(this, value);
      return Reflect.apply(original, this, arguments);
    }
    const result = Reflect.apply(original, this, arguments);
    appendHeader(this, value);
    return result;
  };
}

// How the X-Amzn-Trace-Id header joins the response head. Node builds the head as one string in
// writeHead (./head.ts): the line is appended to it there. Setting it with setHeader before
// writeHead would cost more than the rest of the header work: it moves every header the app passes
// to writeHead through setHeader's validation and storage (measured ~3x the cost of the append).
// An app's own X-Amzn-Trace-Id, however it was set, is found in the head and kept.
// Should a Node version ever not build `_header` that way, setHeader before writeHead takes over.
let appendAfterWriteHead = true;

function appendHeader(res: TracedResponse, value: string): void {
  const head = builtHead(res as { _header?: unknown });
  if (head !== undefined) {
    if (hasTraceHeader(head)) return;
    try {
      (res as { _header?: string })._header = withTraceHeaderAdded(head, value);
    } catch (err) {
      headerFailed(err);
    }
    return;
  }
  appendAfterWriteHead = false;
  log.once('http.server.headerMode', 'debug', 'response head not built as expected by writeHead; X-Amzn-Trace-Id is set before writeHead from now on', {
    head: typeof (res as { _header?: unknown })._header,
  });
}

function addHeaderBefore(res: TracedResponse, value: string): void {
  try {
    if (!res.headersSent && !res.hasHeader('x-amzn-trace-id')) res.setHeader('X-Amzn-Trace-Id', value);
  } catch (err) {
    headerFailed(err);
  }
}

function headerFailed(err: unknown): void {
  log.once('http.server.header', 'warn', 'could not add the X-Amzn-Trace-Id response header', { error: String(err) });
}

// The events through which a server hands the app a request and its response. A request that
// carries `Expect: 100-continue` comes as 'checkContinue' when the app listens for that (an upload
// server deciding whether to accept the body), any other `Expect` as 'checkExpectation'; Node
// emits 'request' for them only when nobody listens. An app's listener often hands the pair on
// with `server.emit('request', req, res)` (as Node's documentation shows): the response then
// already has its segment, which goes on, so the request still gets exactly one.
function isRequestEvent(type: string | symbol): boolean {
  return type === 'request' || type === 'checkContinue' || type === 'checkExpectation';
}

function wrapEmit(original: (...args: any[]) => boolean) {
  return function emit(this: unknown, type: string | symbol, req: IncomingMessage, res: ServerResponse): boolean {
    if (!isRequestEvent(type) || spans === undefined) return Reflect.apply(original, this, arguments);
    const current = (res as TracedResponse)[CONTEXT];
    if (current !== undefined) return runApply(current, original, this, arguments);
    const segment = startRequest(spans, req, res as TracedResponse);
    if (segment === undefined) return Reflect.apply(original, this, arguments);
    try {
      return runApply(segment, original, this, arguments);
    } catch (err) {
      // The app's handler threw synchronously: record it, then let it go on exactly as before.
      try {
        spans.handlerError(segment, err);
      } catch {
        /* never mask the app's error */
      }
      throw err;
    }
  };
}

function startRequest(s: HttpServerSpans, req: IncomingMessage, res: TracedResponse): Segment | undefined {
  try {
    const headers = req.headers;
    const socket = req.socket as TLSSocket | undefined;
    const started = s.start({
      method: req.method ?? 'GET',
      scheme: socket?.encrypted ? 'https' : 'http',
      host: headers.host,
      path: req.url ?? '/',
      traceHeader: headers['x-amzn-trace-id'],
      userAgent: headers['user-agent'],
      forwardedFor: headers['x-forwarded-for'],
      remoteAddress: socket?.remoteAddress,
    });
    res[SEGMENT] = started.segment;
    res[TRACE_HEADER] = started.responseHeader;
    res[CONTEXT] = started.segment;
    (req as TracedRequest)[CONTEXT] = started.segment;
    (req as TracedRequest)[RESPONSE] = res;
    return started.segment;
  } catch (err) {
    log.once('http.server.start', 'error', 'http server instrumentation failed on a request; it runs untraced', {
      error: String(err),
    });
    return undefined;
  }
}

/**
 * A request whose connection closed while its response waited behind others (pipelining): Node
 * drops such a response without any event, so its segment is ended here, as a client abort
 * (DESIGN §6.16). A response that has its socket gets its own 'close' and is left to it.
 */
function requestClosed(req: TracedRequest): void {
  const res = req[RESPONSE];
  if (res === undefined || res[SEGMENT] === undefined || res.socket != null || res.writableFinished) return;
  const socket = req.socket;
  if (socket == null || socket.destroyed) endSegment(res);
}

/** Ends the request's segment when its response closes. */
function endSegment(res: TracedResponse): void {
  const segment = res[SEGMENT];
  if (segment === undefined || spans === undefined) return;
  res[SEGMENT] = undefined;
  try {
    const sent = res.headersSent;
    spans.end(segment, {
      status: sent ? res.statusCode : undefined,
      // Read from the head's text: only for a segment that records it.
      contentLength: sent && segment.sampledFlag ? sentContentLength(res) : undefined,
      aborted: !res.writableFinished,
    });
  } catch (err) {
    log.once('http.server.end', 'error', 'http server instrumentation failed to end a segment', { error: String(err) });
  }
}

/** The Content-Length the response's head carried, read from the head Node sent (./head.ts). */
function sentContentLength(res: TracedResponse): number | undefined {
  const head = builtHead(res as { _header?: unknown });
  return head !== undefined ? contentLengthIn(head) : parseContentLength(res.getHeader('content-length'));
}

export const httpServer: BuiltinInstrumentation = {
  name: 'http',
  target: 'node:http and node:https servers (Server#emit "request")',
  install(host: InstrumentationHost): void {
    spans = host.httpServer;
    // Patched when the app starts using them, not at start-up (agent/hooks/builtin-load.ts).
    whenBuiltinLoaded('http', () => patchModule(httpModule(), true));
    // An https server's responses are node:http ServerResponses (loaded with https): their patches
    // (which end segments) must be in place whichever module the app was seen using first. wrap()
    // leaves an already wrapped method alone.
    whenBuiltinLoaded('https', () => {
      patchModule(httpModule(), true);
      patchModule(httpsModule(), false);
    });
  },
  uninstall(): void {
    spans = undefined;
    unpatchModule(httpModule(), true);
    unpatchModule(httpsModule(), false);
  },
};
