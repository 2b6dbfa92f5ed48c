// Keeps a callback-style framework's middleware chain in its request's trace context. Used by
// express (4 and router@2) and restify; any framework that hands control on through `next()`
// callbacks can use it.
//
// Why it is needed: such frameworks run the next middleware inside whatever callback the previous
// one called `next()` from. Body parsers call it from the request stream's 'end' event, and Node
// emits that in the connection's async context, not the request's (AsyncLocalStorage does not
// follow it); so after express.json() or restify's bodyParser the route handler, and every
// downstream call it makes, would run outside the request's segment.
//
// How: when a request first enters the framework (still synchronously inside the HTTP server's
// 'request' event, so its segment is current) the entity is remembered on the request object;
// each later step the framework takes (a layer, a chain) checks `inRequestContext` and re-enters
// that entity (agent/context runApply) only when the current context has lost it. No closure, no
// listener, nothing allocated per step; `enterWith` is never used, so no foreign async resource (a
// keep-alive connection, a database socket) is ever left pointing at this request.

import type { Entity } from '../../agent/model/entity';
import { active } from '../../agent/context';

const ENTITY = Symbol('xray.web.requestEntity');

type Carrier = { [ENTITY]?: Entity };

/**
 * Remembers the current entity on `req` (once: the first call for a request wins) and returns
 * the request's entity, or undefined when the request is not traced.
 */
export function rememberRequestEntity(req: unknown): Entity | undefined {
  if (req === null || typeof req !== 'object') return undefined;
  const carrier = req as Carrier;
  const known = carrier[ENTITY];
  if (known !== undefined) return known;
  const entity = active();
  if (entity !== undefined) carrier[ENTITY] = entity;
  return entity;
}

/** The entity remembered for `req`, if any. Safe on any value. */
export function requestEntity(req: unknown): Entity | undefined {
  return req !== null && typeof req === 'object' ? (req as Carrier)[ENTITY] : undefined;
}

/**
 * True when the current context belongs to `entity`'s segment (a subsegment the app opened itself
 * counts). When false, callers run the framework step with `runApply(entity, …)`; when true they
 * call it directly, which keeps the app's stack traces one frame shorter than a helper would.
 */
export function inRequestContext(entity: Entity): boolean {
  const current = active();
  return current === entity || (current !== undefined && current.segment === entity.segment);
}
