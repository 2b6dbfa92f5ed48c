// hapi's Request class (lib/request.js).
//
// `_lookup()` runs once per request, right after onRequest extensions, and sets `request.route`
// to the matched route, or to one of hapi's "special" routes (method `_special`: not found, bad
// request, CORS preflight) that have no template of the app's: those are not recorded.
//
// `_setResponse(response)` is how hapi sets every response: a handler's or extension's return
// value, a thrown error (already wrapped as a Boom by hapi), a timeout, a failed transmission. A
// Boom set there is an error hapi caught and answers with `err.output.statusCode`; it is recorded
// as the cause (the flags come from the status the response really gets, so a Boom an
// onPreResponse extension later replaces with a 200 page stays a cause only). Setting the same
// Boom again (hapi does so when an extension's error reaches `_reply`) records nothing new, and
// nothing is recorded once the request is complete (hapi ignores the response then too).
//
// Both run inside the request's async context: hapi drives the lifecycle with awaits from the
// server's 'request' event, where the segment was made current.

import type { InstrumentationHost } from '../../agent/instrumentation';
import type { WebFrameworkSpans } from '../../agent/spans/web-framework';
import { wrap } from '../../agent/shim';
import { log } from '../../agent/log';
import { boomCause } from './boom';

/** The few fields of a hapi request read here; never written. */
interface HapiRequest {
  route?: { method?: unknown; path?: unknown };
  response?: unknown;
  info?: { completed?: unknown };
}

export function patchRequest(Request: unknown, host: InstrumentationHost): void {
  const web = host.web;
  const proto = typeof Request === 'function' ? (Request.prototype as object | undefined) : undefined;
  if (proto === undefined) throw new Error('@hapi/hapi internals changed: lib/request.js exports no Request class');
  const lookup = wrap(proto, '_lookup', (original) =>
    function _lookup(this: HapiRequest): unknown {
      const result = Reflect.apply(original, this, arguments);
      recordRoute(web, this);
      return result;
    },
  );
  if (!lookup) throw new Error('@hapi/hapi internals changed: Request has no _lookup to wrap');
  const setResponse = wrap(proto, '_setResponse', (original) =>
    function _setResponse(this: HapiRequest, response: unknown): unknown {
      recordError(web, this, response);
      return Reflect.apply(original, this, arguments);
    },
  );
  if (!setResponse) throw new Error('@hapi/hapi internals changed: Request has no _setResponse to wrap');
}

function recordRoute(web: WebFrameworkSpans, request: HapiRequest): void {
  try {
    const route = request.route;
    if (route === undefined || route.method === '_special' || typeof route.path !== 'string') return;
    web.route(route.path);
  } catch (err) {
    failed(err);
  }
}

function recordError(web: WebFrameworkSpans, request: HapiRequest, response: unknown): void {
  try {
    if (typeof response !== 'object' || response === null || (response as { isBoom?: unknown }).isBoom !== true) return;
    if (response === request.response || request.info?.completed) return;
    web.error(boomCause(response));
  } catch (err) {
    failed(err);
  }
}

function failed(err: unknown): void {
  log.once('hapi.request', 'error', 'hapi instrumentation failed on a request; it goes on without route or error details', {
    error: String(err),
  });
}
