// URL text for `http.request.url` (spec §1.5): scheme://host[:non-default port]/path, with the query
// string and fragment removed unless the user asked to keep the query (DESIGN §6.15). Long URLs are
// cut so one request can never blow the datagram budget.

const MAX_URL_LENGTH = 2000;

/** Removes `?query` and `#fragment` from a request path (unless keepQuery). */
export function cleanPath(path: string, keepQuery: boolean): string {
  let end = path.length;
  const hash = path.indexOf('#');
  if (hash !== -1) end = hash;
  if (!keepQuery) {
    const q = path.indexOf('?');
    if (q !== -1 && q < end) end = q;
  }
  return end === path.length ? path : path.slice(0, end);
}

/** The path part only (no query, no fragment): what sampling rules match against (spec §4.1). */
export function pathOnly(path: string): string {
  return cleanPath(path, false);
}

export function buildUrl(scheme: string, hostWithPort: string, path: string, keepQuery: boolean): string {
  const p = cleanPath(path.length > 0 && path[0] !== '/' && path[0] !== '*' ? '/' + path : path, keepQuery);
  const url = scheme + '://' + hostWithPort + p;
  return url.length > MAX_URL_LENGTH ? url.slice(0, MAX_URL_LENGTH) : url;
}

/** Host name without port (and without IPv6 brackets), for subsegment names. */
export function hostnameOf(hostWithPort: string): string {
  if (hostWithPort.startsWith('[')) {
    const end = hostWithPort.indexOf(']');
    return end === -1 ? hostWithPort : hostWithPort.slice(1, end);
  }
  const colon = hostWithPort.indexOf(':');
  // More than one colon and no brackets: a bare IPv6 address, which has no port part.
  if (colon === -1 || hostWithPort.indexOf(':', colon + 1) !== -1) return hostWithPort;
  return hostWithPort.slice(0, colon);
}
