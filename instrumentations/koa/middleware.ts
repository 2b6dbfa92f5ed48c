// Optional per-middleware subsegments for koa (host.web.middlewareSubsegments, off by default):
// `Application#use` hands koa a traced copy of each middleware. With the option off nothing is
// wrapped at all, so the default costs nothing per request.
//
// A koa middleware's subsegment spans its whole call, including the `await next()` downstream:
// that is koa's onion model, so the downstream middlewares' subsegments (and any calls they make)
// nest inside it. An error passing through is recorded as the subsegment's cause only; the flags
// belong to the response status the segment records (a 404 thrown through three middlewares is
// not three faults).

import type { InstrumentationHost } from '../../agent/instrumentation';
import type { WebFrameworkSpans } from '../../agent/spans/web-framework';
import type { Subsegment } from '../../agent/model/entity';
import { wrap } from '../../agent/shim';
import { runApply } from '../../agent/context';
import { log } from '../../agent/log';
import { observeSettled } from '../../agent/settled';

type Middleware = (this: unknown, ...args: unknown[]) => unknown;

export function patchApplication(Application: unknown, host: InstrumentationHost): void {
  const web = host.web;
  if (!web.middlewareSubsegments) return;
  const proto = typeof Application === 'function' ? (Application.prototype as object | undefined) : undefined;
  const done =
    proto !== undefined &&
    wrap(proto, 'use', (original) =>
      function use(this: unknown, fn: unknown): unknown {
        if (arguments.length === 0) return Reflect.apply(original, this, arguments);
        const args = Array.prototype.slice.call(arguments) as unknown[];
        args[0] = traced(web, fn);
        return Reflect.apply(original, this, args);
      },
    );
  if (!done) throw new Error('koa internals changed: Application has no prototype.use to wrap');
}

/** A traced copy of one middleware (same name, length and own properties), or `fn` itself. */
function traced(web: WebFrameworkSpans, fn: unknown): unknown {
  // Not a function: koa throws its own TypeError.
  if (typeof fn !== 'function') return fn;
  try {
    // Generator middleware: koa 2 converts it only if it still looks like one, so it reaches koa
    // as it is (and untraced).
    if (isGeneratorFunction(fn)) return fn;
    const name = middlewareName(fn);
    // wrap() on a one-off holder gives the copy the original's name, length, own properties and
    // prototype (the shim's rules); the app's own function is not touched.
    const holder = { fn: fn as Middleware };
    wrap(holder, 'fn', (original) =>
      function middleware(this: unknown): unknown {
        const sub = start(web, name);
        if (sub === undefined) return Reflect.apply(original, this, arguments);
        let result: unknown;
        try {
          result = runApply(sub, original, this, arguments);
        } catch (err) {
          end(sub, true, err);
          throw err;
        }
        if (!(result instanceof Promise)) {
          end(sub, false);
          return result;
        }
        // koa gets a promise of the very same outcome (agent/settled.ts).
        return observeSettled(
          result,
          () => end(sub, false),
          (err) => end(sub, true, err),
        );
      },
    );
    return holder.fn;
  } catch (err) {
    log.once('koa.use', 'error', 'koa middleware could not be traced; it runs untraced', { error: String(err) });
    return fn;
  }
}

function start(web: WebFrameworkSpans, name: string): Subsegment | undefined {
  try {
    return web.middleware(name);
  } catch (err) {
    log.once('koa.middleware', 'error', 'koa middleware subsegment failed; the request goes on', { error: String(err) });
    return undefined;
  }
}

function end(sub: Subsegment, failed: boolean, err?: unknown): void {
  try {
    if (failed) sub.addCause(err);
    sub.close();
  } catch (e) {
    log.once('koa.middleware', 'error', 'koa middleware subsegment failed; the request goes on', { error: String(e) });
  }
}

function middlewareName(fn: Function): string {
  // koa-convert and friends name their wrappers through `_name`, as koa's own debug line does.
  const own = (fn as { _name?: unknown })._name;
  let name = typeof own === 'string' && own.length > 0 ? own : fn.name;
  if (name.startsWith('bound ')) name = name.slice(6);
  // @koa/router's dispatch function is anonymous (and bound) but carries its router.
  if (name === '' && (fn as { router?: unknown }).router !== undefined) name = 'router';
  return name;
}

function isGeneratorFunction(fn: Function): boolean {
  const tag = Object.prototype.toString.call(fn);
  if (tag === '[object GeneratorFunction]' || tag === '[object AsyncGeneratorFunction]') return true;
  try {
    return /^\s*(?:function)?\*/.test(Function.prototype.toString.call(fn));
  } catch {
    return false;
  }
}
