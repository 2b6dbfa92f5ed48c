// Where a node:http / node:https client request goes: the `host[:port]` its subsegment is named
// after and its URL is built with (spec §8.5: scheme://host[:port unless the scheme's default]/path).
//
// Node keeps the host it connects to on the request (`req.host`, an IPv6 address without brackets)
// but not the port. The port is found here the way Node's ClientRequest finds it: from a URL given
// as text or as a URL object, then an options object (given alone, or after the URL, where its own
// `port` wins), else the options' or the agent's default port. The Host header is not used: a
// caller may set it to anything (a virtual host name on an address, a reverse proxy passing on the
// Host its client sent, `setHost: false` for none), and then it names neither the host nor the port
// called.

/** The port in the authority of an absolute URL's text, as WHATWG URL reads it ('' for none). */
const URL_PORT = /^[\s\0-\x1f]*[a-zA-Z][a-zA-Z0-9+.-]*:[/\\]{2}(?:[^@/\\?#]*@)?(?:\[[^\]/\\?#]*\]|[^:/\\?#]*)(?::([0-9]*))?/;

type Options = { port?: unknown; defaultPort?: unknown };

/**
 * `host[:port]` of a client request made with request()/get() `args` (before any callback), to
 * `hostName` over `scheme` ('http' or 'https'); `agentDefaultPort` is the request's agent's.
 */
export function requestAuthority(args: ArrayLike<unknown>, hostName: string, scheme: string, agentDefaultPort: unknown): string {
  const input = args[0];
  const options = args[1];
  let port: unknown;
  let defaultPort: unknown;
  if (typeof input === 'string') port = URL_PORT.exec(input)?.[1];
  // A URL object ('' when it has no port) or an options object.
  else if (typeof input === 'object' && input !== null) ({ port, defaultPort } = input as Options);
  if (typeof options === 'object' && options !== null) {
    // Node merges the options over the URL's (or the first options object's) with Object.assign:
    // own properties only, an own `undefined` included.
    if (Object.hasOwn(options, 'port')) port = (options as Options).port;
    if (Object.hasOwn(options, 'defaultPort')) defaultPort = (options as Options).defaultPort;
  }
  const connected = Number(port) || Number(defaultPort) || Number(agentDefaultPort) || 80;
  const host = hostName.includes(':') && !hostName.startsWith('[') ? `[${hostName}]` : hostName;
  return connected === (scheme === 'https' ? 443 : 80) ? host : `${host}:${connected}`;
}
