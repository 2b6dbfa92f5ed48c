// restify 10–12. Three internal prototypes are wrapped; no listener is added to the server, because
// restify changes behaviour when some exist (a 'restifyError' or '<Name>Error' listener takes
// over the error response and must call its callback; 'uncaughtException' listeners replace the
// default 500), and the rest ('routed', 'after') are per server and would show in listenerCount.
//
// - lib/server.js, Server#_setupRequest: restify's per-request setup, called synchronously from its
//   'request' handler, so the request's segment is current: remembered on the request.
// - lib/server.js, Server#_onHandlerError: every error restify turns into a response goes through it
//   — `next(err)` from pre, use and route handlers (restify-errors carry their status: NotFoundError
//   404, TooManyRequestsError 429, …), rejected async handlers, no route (ResourceNotFoundError) or
//   wrong method (MethodNotAllowedError), and uncaught exceptions with handleUncaughtExceptions.
//   Recorded as the cause; the flags come from the status restify answers with.
// - lib/router.js, Router#lookup: after a route matched, `req.route.path` (what `req.getRoute()`
//   returns) is the template. restify has no nested routers, so it is already the full path.
// - lib/chain.js, Chain#add: the chain's slot for each handler (pre, use, route) is wrapped so the
//   handler runs in the request's context even when the handler before it called next() from a
//   callback that lost it (a body parser finishes in the request stream's 'end' event). restify
//   schedules the next handler with process.nextTick from inside next(), so nothing short of the
//   handler call itself runs in the right place; see web-common/request-context. The app's
//   function objects are untouched; only `chain.getHandlers()` (a debug API) shows the wrappers.
//
// Floor 10.0.0: the first restify that loads on Node 20 (9.x throws at require time, assigning
// IncomingMessage#closed). 12 declares engines node >=22 but runs on Node 20 unchanged; these
// internals are the same in 10, 11 and 12.

import type { ModuleInstrumentation } from '../../agent/hooks/definition';
import type { InstrumentationHost } from '../../agent/instrumentation';
import type { WebFrameworkSpans } from '../../agent/spans/web-framework';
import { wrap } from '../../agent/shim';
import { log } from '../../agent/log';
import { runApply } from '../../agent/context';
import { inRequestContext, rememberRequestEntity, requestEntity } from '../web-common/request-context';

type AnyFn = (...args: any[]) => any;

let web: WebFrameworkSpans | undefined;

function prototypeOf(exports: unknown, what: string): object {
  const proto = (exports as { prototype?: unknown } | null)?.prototype;
  if (proto === null || typeof proto !== 'object') throw new Error(`restify internals changed: ${what} has no prototype`);
  return proto;
}

/** A patch that cannot wrap what it relies on throws, so the hook undoes the whole file patch. */
function required(wrapped: boolean, what: string): void {
  if (!wrapped) throw new Error(`restify internals changed: ${what} is missing or cannot be wrapped`);
}

function failed(key: string, err: unknown): void {
  log.once(key, 'error', 'restify instrumentation failed on a request; it goes on without route or error details', {
    error: String(err),
  });
}

function patchServer(exports: unknown, host: InstrumentationHost): void {
  web = host.web;
  const proto = prototypeOf(exports, 'lib/server.js');
  required(
    wrap(proto, '_setupRequest', (original) =>
      function _setupRequest(this: unknown, req: unknown): unknown {
        try {
          rememberRequestEntity(req);
        } catch (err) {
          failed('restify.setup', err);
        }
        return Reflect.apply(original, this, arguments);
      },
    ),
    'Server#_setupRequest',
  );
  required(
    wrap(proto, '_onHandlerError', (original) =>
      function _onHandlerError(this: unknown, err: unknown, req: unknown): unknown {
        const entity = requestEntity(req);
        if (entity !== undefined && err !== undefined && err !== null) {
          try {
            web?.error(err, entity);
          } catch (e) {
            failed('restify.error', e);
          }
        }
        return Reflect.apply(original, this, arguments);
      },
    ),
    'Server#_onHandlerError',
  );
}

function patchRouter(exports: unknown, host: InstrumentationHost): void {
  web = host.web;
  required(
    wrap(prototypeOf(exports, 'lib/router.js'), 'lookup', (original) =>
      function lookup(this: unknown, req: { route?: { path?: unknown } } | undefined): unknown {
        const handler = Reflect.apply(original, this, arguments);
        if (handler) {
          const entity = requestEntity(req);
          if (entity !== undefined) {
            try {
              const path = req?.route?.path;
              if (typeof path === 'string') web?.route(path, entity);
            } catch (err) {
              failed('restify.route', err);
            }
          }
        }
        return handler;
      },
    ),
    'Router#lookup',
  );
}

function patchChain(exports: unknown): void {
  required(
    wrap(prototypeOf(exports, 'lib/chain.js'), 'add', (original: AnyFn) =>
      function add(this: { _stack?: unknown }, handler: unknown): unknown {
        const result = Reflect.apply(original, this, arguments);
        try {
          const stack = this?._stack;
          // Wraps the chain's slot (what restify calls), never the app's function object.
          if (Array.isArray(stack) && stack.length > 0 && stack[stack.length - 1] === handler) {
            wrap(stack, stack.length - 1, wrapHandler);
          }
        } catch (err) {
          log.once('restify.add', 'error', 'restify instrumentation could not wrap a handler; it runs as it is', { error: String(err) });
        }
        return result;
      },
    ),
    'Chain#add',
  );
}

/**
 * A handler as its chain calls it: `(req, res, next)`, or `(err, req, res, next)` for an error
 * handler. Runs it in the request's context when the previous handler called next() from a
 * callback that lost it (restify schedules each handler with process.nextTick from inside that
 * next(), so the context is the caller's). The wrapper keeps the handler's name, length,
 * prototype (so an async handler still looks like one) and own properties (restify's `_name`).
 */
function wrapHandler(original: AnyFn): AnyFn {
  return function handler(this: unknown): unknown {
    const entity = requestEntity(arguments.length === 4 ? arguments[1] : arguments[0]);
    if (entity === undefined || inRequestContext(entity)) return Reflect.apply(original, this, arguments);
    return runApply(entity, original, this, arguments);
  };
}

export const restify: ModuleInstrumentation = {
  name: 'restify',
  module: 'restify',
  versions: ['>=10.0.0 <13'],
  files: [
    { file: 'lib/server.js', patch: (exports, ctx) => patchServer(exports, ctx.host) },
    { file: 'lib/router.js', patch: (exports, ctx) => patchRouter(exports, ctx.host) },
    { file: 'lib/chain.js', patch: (exports) => patchChain(exports) },
  ],
};
