// Koa's context prototype (lib/context.js): `onerror` is where koa handles every error it turns
// into a response, and, because koa registers it with on-finished, it is also called with `null`
// once the response has finished ('finish' comes before the response's 'close', which ends the
// segment). One wrap on the shared prototype: no per-request allocation, no listener added, and
// koa's own behaviour (the 'error' event, its default logging, the status it picks) is untouched.
// Errors the app's own middleware catches never reach koa, so they are not causes; an app that
// replaces `app.context.onerror` with its own function bypasses this wrap the same way.
//
// The route template comes from `ctx._matchedRoute`, which @koa/router (and the older koa-router)
// set to the matched layer's full path, router prefixes and `router.use('/prefix', …)` mounts
// included. Reading it here, rather than patching the router, also covers @koa/router's own ESM
// build (dist/index.mjs), which the CommonJS loader hook never sees.
//
// on-finished (2.4+, what every koa 2/3 install resolves to) binds its callback to the async
// context koa registered it in, inside the request's segment, so the call at 'finish' still sees
// the request's segment; so does every other call, made from koa's own promise chain.

import type { InstrumentationHost } from '../../agent/instrumentation';
import type { WebFrameworkSpans } from '../../agent/spans/web-framework';
import { wrap } from '../../agent/shim';
import { log } from '../../agent/log';

/** The few fields of a koa context read here; never written. */
interface KoaContext {
  _matchedRoute?: unknown;
}

export function patchContext(context: unknown, host: InstrumentationHost): void {
  const web = host.web;
  const done =
    typeof context === 'object' &&
    context !== null &&
    wrap(context, 'onerror', (original) =>
      function onerror(this: KoaContext | undefined, err: unknown): unknown {
        observe(web, this, err);
        return Reflect.apply(original, this, arguments);
      },
    );
  if (!done) throw new Error('koa internals changed: lib/context.js has no onerror to wrap');
}

function observe(web: WebFrameworkSpans, ctx: KoaContext | undefined, err: unknown): void {
  try {
    const route = ctx?._matchedRoute;
    // A route defined with a RegExp is stored as that RegExp: recorded as its source, as express's.
    if (typeof route === 'string') web.route(route);
    else if (route instanceof RegExp) web.route(String(route));
    // null/undefined is the "response finished" call, not an error (koa returns at once too).
    if (err !== null && err !== undefined) web.error(err);
  } catch (e) {
    log.once('koa.onerror', 'error', 'koa instrumentation failed on a request; it goes on without route or error details', {
      error: String(e),
    });
  }
}
