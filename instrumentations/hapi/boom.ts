// What to record for a Boom error (@hapi/boom, which hapi uses for every error response).
//
// `Boom.notFound('no such user')` and its siblings build a plain `Error` (class and name "Error")
// and mark it with the helper that made it (own property `typeof`); the kind of error is only in
// `output.payload.error` ("Not Found", "Too Many Requests"). For those the cause's type is that
// text. An error of the app's that hapi or the app wrapped with `Boom.boomify` keeps its own class
// (`TypeError`, `ValidationError`, or `Error` for a plain one): that is what the type names.

interface BoomLike {
  name?: unknown;
  message?: unknown;
  stack?: unknown;
  cause?: unknown;
  output?: { payload?: { error?: unknown } };
}

/** The value to record as the cause: the error itself, or a view of it with the Boom kind as its name. */
export function boomCause(boom: object): unknown {
  const err = boom as BoomLike;
  const name = err.name;
  if (typeof name === 'string' && name.length > 0 && name !== 'Error') return boom;
  if (!Object.prototype.hasOwnProperty.call(boom, 'typeof')) return boom;
  const kind = err.output?.payload?.error;
  if (typeof kind !== 'string' || kind.length === 0) return boom;
  // A plain record, not a copy of the error: only what the cause reads (the Boom is not changed).
  return { name: kind, message: err.message, stack: err.stack, cause: err.cause };
}
