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
  // Joined, not concatenated: `+` would make a chain of pieces (the host header among them) that
  // the segment keeps until its document is written, ~120 bytes where the one flat string joined
  // here takes ~40, and the writer reads a flat string faster (design decision 22).
  const url = [scheme === 'http' ? 'http://' : scheme === 'https' ? 'https://' : scheme + '://', hostWithPort, p].join('');
  return url.length > MAX_URL_LENGTH ? url.slice(0, MAX_URL_LENGTH) : url;
}

export interface AbsoluteTarget {
  scheme: string;
  /** host[:port], without any user:password@ part. */
  host: string;
  /** Path, query and fragment; `/` when the target has none. */
  path: string;
}

const ABSOLUTE_FORM = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)(.*)$/s;

/**
 * A request target in absolute form (`http://example.com/p?q`, RFC 9112 §3.2.2: what a client sends
 * to a forward proxy, and what a client asks of one in its request path) split into its parts;
 * undefined for the usual origin form (`/p?q`) and for `*`. Such a target names the resource the
 * request is for, whatever the Host header or the connection says.
 */
export function absoluteTarget(target: string): AbsoluteTarget | undefined {
  if (target.length === 0 || target.charCodeAt(0) === 47 /* / */ || target === '*') return undefined;
  const m = ABSOLUTE_FORM.exec(target);
  if (m === null) return undefined;
  const authority = m[2]!;
  const at = authority.lastIndexOf('@');
  return { scheme: m[1]!.toLowerCase(), host: at === -1 ? authority : authority.slice(at + 1), path: m[3] === '' ? '/' : m[3]! };
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
