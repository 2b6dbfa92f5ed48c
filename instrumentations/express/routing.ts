// Express routing, shared by express 4 (its own lib/router) and express 5 (the `router@2` package):
// both have the same Router (`use`, `handle`) and Layer (handle a request, handle an error) shapes,
// only the Layer method names differ (`handle_request`/`handle_error` vs `handleRequest`/`handleError`).
//
// What is observed, and where:
// - Router#use: the mount path of each layer it adds (`app.use('/api', router)`), kept on the layer
//   for the route template (./templates).
// - Router#handle, first call for a request (the app's own router): the request's entity is
//   remembered (web-common/request-context), and the callback it is given — express's final handler,
//   or whatever called the router — is observed: an error that reaches it is recorded.
// - Layer, handling a request: a route layer records the template (mount prefixes + route path); a
//   mount layer notes where this request entered it; every layer runs in the request's context.
// - Layer, handling an error: an error middleware (arity 4) that receives an error records it.
// Recorded errors get their flags from the final status (agent/spans/web-framework); the same error
// recorded twice (error middleware, then final handler) is written once.
//
// router@2.3 publishes a TracingChannel ('express.router.request'), but 2.0–2.2 do not, its context
// names only the layer's own pattern (no mount prefix), and subscribing makes the router allocate a
// context and run its stores for every layer of every request; these few wraps cost less and cover
// every 2.x (and express 4) the same way.

import type { InstrumentationHost } from '../../agent/instrumentation';
import type { WebFrameworkSpans } from '../../agent/spans/web-framework';
import type { Entity } from '../../agent/model/entity';
import { wrap } from '../../agent/shim';
import { log } from '../../agent/log';
import { runApply } from '../../agent/context';
import { inRequestContext, rememberRequestEntity, requestEntity } from '../web-common/request-context';
import { enterMount, mountPathOf, routeTemplate, tagMounts, type MountedRequest, type TaggedLayer } from './templates';

/** The Layer method names of one express generation. */
export interface LayerMethods {
  readonly handleRequest: string;
  readonly handleError: string;
}

export const EXPRESS4_LAYER: LayerMethods = { handleRequest: 'handle_request', handleError: 'handle_error' };
export const ROUTER2_LAYER: LayerMethods = { handleRequest: 'handleRequest', handleError: 'handleError' };

interface Layer extends TaggedLayer {
  handle?: unknown;
  route?: { path?: unknown } | null;
  /** The part of the path the layer matched, set by express when it matched. */
  path?: unknown;
}

type AnyFn = (...args: any[]) => any;

let web: WebFrameworkSpans | undefined;

/** Patches a Router prototype (express 4's `proto`, router@2's `Router.prototype`). */
export function patchRouter(proto: unknown, host: InstrumentationHost): void {
  web = host.web;
  const target = objectOrThrow(proto, 'Router prototype');
  required(wrap(target, 'use', wrapUse), 'Router#use');
  required(wrap(target, 'handle', wrapHandle), 'Router#handle');
}

/** Patches a Layer prototype. */
export function patchLayer(proto: unknown, names: LayerMethods, host: InstrumentationHost): void {
  web = host.web;
  const target = objectOrThrow(proto, 'Layer prototype');
  required(wrap(target, names.handleRequest, wrapHandleRequest), `Layer#${names.handleRequest}`);
  required(wrap(target, names.handleError, wrapHandleError), `Layer#${names.handleError}`);
}

function objectOrThrow(value: unknown, what: string): object {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) {
    throw new Error(`express internals changed: no ${what}`);
  }
  return value;
}

/** A patch that cannot wrap what it relies on throws, so the hook undoes the whole file patch. */
function required(wrapped: boolean, what: string): void {
  if (!wrapped) throw new Error(`express internals changed: ${what} is missing or cannot be wrapped`);
}

function wrapUse(original: AnyFn): AnyFn {
  return function use(this: { stack?: unknown }, first: unknown): unknown {
    const stack = this?.stack;
    const before = Array.isArray(stack) ? stack.length : -1;
    const result = Reflect.apply(original, this, arguments);
    if (before >= 0) {
      try {
        tagMounts(stack as unknown[], before, first);
      } catch (err) {
        log.once('express.use', 'error', 'express instrumentation could not read a mount path; routes under it lack the prefix', {
          error: String(err),
        });
      }
    }
    return result;
  };
}

function wrapHandle(original: AnyFn): AnyFn {
  return function handle(this: unknown, req: unknown, _res: unknown, out: unknown): unknown {
    // Only the first router a request enters: nested routers get a `next` of their parent, and the
    // errors they hand it go on through the parent's layers.
    if (web === undefined || requestEntity(req) !== undefined) return Reflect.apply(original, this, arguments);
    let entity: Entity | undefined;
    try {
      entity = rememberRequestEntity(req);
    } catch (err) {
      failed('express.handle', err);
    }
    if (entity === undefined || typeof out !== 'function') return Reflect.apply(original, this, arguments);
    const args = Array.prototype.slice.call(arguments);
    args[2] = observeFinal(out as AnyFn, entity);
    return Reflect.apply(original, this, args);
  };
}

/** Wraps the callback the app's router ends in (express's final handler): errors reaching it are recorded. */
function observeFinal(out: AnyFn, entity: Entity): AnyFn {
  return function done(this: unknown, err?: unknown): unknown {
    // Falsy values are "no error" to express's final handler too.
    if (err) {
      try {
        web?.error(err, entity);
      } catch (e) {
        failed('express.error', e);
      }
    }
    return Reflect.apply(out, this, arguments);
  };
}

function wrapHandleRequest(original: AnyFn): AnyFn {
  return function handleRequest(this: Layer, req: MountedRequest): unknown {
    const entity = requestEntity(req);
    if (entity === undefined) return Reflect.apply(original, this, arguments);
    try {
      const route = this.route;
      if (route !== undefined && route !== null) {
        const template = routeTemplate(route.path, req);
        if (template !== undefined) web?.route(template, entity);
      } else {
        const mountPath = mountPathOf(this);
        if (mountPath !== undefined) enterMount(mountPath, req, this.path);
      }
    } catch (err) {
      failed('express.layer', err);
    }
    if (inRequestContext(entity)) return Reflect.apply(original, this, arguments);
    return runApply(entity, original, this, arguments);
  };
}

function wrapHandleError(original: AnyFn): AnyFn {
  return function handleError(this: Layer, error: unknown, req: unknown): unknown {
    const entity = requestEntity(req);
    if (entity === undefined) return Reflect.apply(original, this, arguments);
    try {
      // Only an error middleware (arity 4) actually receives the error; express skips the others.
      if (error && typeof this.handle === 'function' && this.handle.length === 4) web?.error(error, entity);
    } catch (err) {
      failed('express.error', err);
    }
    if (inRequestContext(entity)) return Reflect.apply(original, this, arguments);
    return runApply(entity, original, this, arguments);
  };
}

function failed(key: string, err: unknown): void {
  log.once(key, 'error', 'express instrumentation failed on a request; it goes on without route or error details', {
    error: String(err),
  });
}
