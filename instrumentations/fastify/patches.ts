// Fastify internals patched where no channel reports what we need (both wrappers only observe:
// they call the original with the same `this` and arguments and return what it returns).
//
//   lib/error-handler.js `handleError(reply, error, cb)` — every error fastify turns into a
//     response passes here, in 4.x and 5.x alike: thrown or rejected by a handler, given to
//     `reply.send(err)` (e.g. `reply.code(404).send(new NotFound())`), raised by a hook, a body
//     parser or schema validation, or thrown again by the app's own error handler. (Fastify 5's
//     handler channel only reports the first kind.) reply.js takes `handleError` from the exports
//     object when it loads, which is after this patch ran. The error becomes the segment's cause;
//     the flags come from the final status. The default error handler sends the same error through
//     here twice: the second time is a reference to the exception already recorded (a no-op).
//     The route is recorded here too, so a request rejected by an onRequest hook still has it.
//
//   lib/handleRequest.js (lib/handle-request.js in later 5.x) `handleRequest(err, request, reply)`
//     — called once per request after the onRequest and preParsing hooks, before the body is read;
//     records the route in 4.x (which has no channel) and in 5.x on Node < 20.13 (see channel.ts).
//     The module exports the function itself, so the patch returns a wrapped copy as the new
//     exports (route.js requires it after this patch ran).

import type { InstrumentationHost } from '../../agent/instrumentation';
import { log } from '../../agent/log';
import { wrap } from '../../agent/shim';
import { routeOf } from './route';

type AnyFn = (...args: any[]) => any;

export function patchHandleError(exports: unknown, host: InstrumentationHost): void {
  const ok = exports !== null && typeof exports === 'object' && wrap(exports, 'handleError', (original) => wrapHandleError(original, host));
  if (!ok) throw new Error('lib/error-handler.js exports no handleError function');
}

function wrapHandleError(original: AnyFn, host: InstrumentationHost): AnyFn {
  return function handleError(this: unknown, reply: unknown, error: unknown): unknown {
    try {
      const request = (reply as { request?: unknown } | null)?.request;
      const route = routeOf(request);
      if (route !== undefined) host.web.route(route);
      host.web.error(error);
    } catch (err) {
      log.once('fastify.error', 'error', 'fastify instrumentation failed on an error response; it is not recorded', { error: String(err) });
    }
    return Reflect.apply(original, this, arguments);
  };
}

/** Returns the wrapped handleRequest, to become the file's exports. */
export function patchHandleRequest(exports: unknown, host: InstrumentationHost): AnyFn {
  if (typeof exports !== 'function') throw new Error('lib/handleRequest.js does not export a function');
  // wrap() works on properties: a holder object lets it mirror name, length and the
  // Symbol.for('internals') property reply.js reads from these exports.
  const holder = { handleRequest: exports as AnyFn };
  if (!wrap(holder, 'handleRequest', (original) => wrapHandleRequest(original, host))) {
    throw new Error('lib/handleRequest.js: handleRequest could not be wrapped');
  }
  return holder.handleRequest;
}

function wrapHandleRequest(original: AnyFn, host: InstrumentationHost): AnyFn {
  return function handleRequest(this: unknown, _err: unknown, request: unknown): unknown {
    try {
      const route = routeOf(request);
      if (route !== undefined) host.web.route(route);
    } catch (e) {
      log.once('fastify.route', 'error', 'fastify instrumentation failed on a request; its route is not recorded', { error: String(e) });
    }
    return Reflect.apply(original, this, arguments);
  };
}
