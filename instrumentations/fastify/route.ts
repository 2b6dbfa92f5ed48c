// The route template a fastify request matched. Fastify keeps the matched route's context under an
// internal symbol; its `config.url` is the full template, plugin prefixes included
// (`/api/v1/items/:id`). The public accessors are the fallback only, because from 4.8 on
// `request.context` and later `request.routerPath` print deprecation warnings (stderr output the app
// did not have), and `request.routeOptions` builds and freezes a new object on every read in 4.x
// (~3 µs measured, half of a traced request's budget). So the symbol is read from the package's own
// lib/symbols.js when it loads (one per fastify copy in the process).

/** `kRouteContext` of each fastify copy loaded so far (4.8 and later; 4.0–4.7 have none). */
const routeContextKeys: symbol[] = [];

/** FilePatch for lib/symbols.js: remembers kRouteContext, changes nothing. */
export function rememberRouteContextKey(symbols: unknown): void {
  const key = (symbols as { kRouteContext?: unknown } | null)?.kRouteContext;
  if (typeof key === 'symbol' && !routeContextKeys.includes(key)) routeContextKeys.push(key);
}

type FastifyRequest = Record<PropertyKey, unknown> & { routeOptions?: { url?: unknown }; routerPath?: unknown };

/** The template, or undefined for the not-found handler (no route matched) and unknown shapes. */
export function routeOf(request: unknown): string | undefined {
  if (request === null || typeof request !== 'object') return undefined;
  const req = request as FastifyRequest;
  for (const key of routeContextKeys) {
    const context = req[key] as { config?: { url?: unknown } } | undefined;
    if (context !== undefined) return stringOrUndefined(context?.config?.url);
  }
  // 4.0–4.7 have no symbol and no routeOptions: routerPath is a plain, warning-free getter there.
  // routeOptions is only a safety net for a copy whose symbols file was not seen.
  if ('routeOptions' in req) return stringOrUndefined(req.routeOptions?.url);
  return stringOrUndefined(req.routerPath);
}

function stringOrUndefined(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}
