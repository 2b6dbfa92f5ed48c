// Parses AWS_XRAY_DAEMON_ADDRESS (spec §2.2). Pure: no I/O, no DNS, never throws.
//
// Accepted forms (the Agent rule is deliberately more lenient than the SDKs, which crash or
// mis-parse on most of these):
//   host:port                          UDP and TCP on the same address
//   udp:h:p tcp:h:p  (either order)    separators = one or more spaces and/or commas
//   udp:h:p  /  tcp:h:p  (alone)       the missing one uses DEFAULT_DAEMON
// Prefixes are case-insensitive; hosts are DNS names, IPv4 literals, or IPv6 literals in
// brackets (`[::1]:2000`, returned without the brackets). Everything else is an error with a
// reason; the caller (config loader) turns it into a warning and falls back to the default.

export interface Endpoint {
  host: string;
  port: number;
}

export interface DaemonEndpoints {
  udp: Endpoint;
  tcp: Endpoint;
}

/** The daemon's documented default, used for both channels. Frozen: it is shared. */
export const DEFAULT_DAEMON: Readonly<Endpoint> = Object.freeze({ host: '127.0.0.1', port: 2000 });

const FORMS = 'expected "host:port" or "udp:host:port tcp:host:port"';

// Letters, digits, dot, hyphen and underscore: covers DNS names, IPv4 literals and the
// underscore names Docker/Compose service names sometimes use. Rejects "http://x", "a/b", etc.
const HOST_RE = /^[A-Za-z0-9._-]+$/;
const PREFIX_RE = /^(udp|tcp):(.*)$/i;
const URL_RE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** Quotes user text for an error message: escaped (no control characters reach a log) and short. */
function q(s: string): string {
  return JSON.stringify(s.length > 60 ? s.slice(0, 60) + '…' : s);
}

export function parseDaemonAddress(value: string): DaemonEndpoints | { error: string } {
  if (typeof value !== 'string') return { error: `not a string; ${FORMS}` };
  const parts = value.split(/[\s,]+/).filter((p) => p !== '');
  if (parts.length === 0) return { error: `empty; ${FORMS}` };
  if (parts.length > 2) return { error: `too many parts (${parts.length}); ${FORMS}` };
  const url = parts.find((p) => URL_RE.test(p));
  if (url) return { error: `${q(url)} looks like a URL; write host:port (or udp:host:port) without "//"` };

  if (parts.length === 1) {
    const only = parts[0]!;
    const prefixed = PREFIX_RE.exec(only);
    if (!prefixed) {
      const ep = parseEndpoint(only);
      if ('error' in ep) return ep;
      return { udp: ep, tcp: { ...ep } };
    }
    // A single prefixed part: the other channel keeps the default.
    const ep = parseEndpoint(prefixed[2]!, prefixed[1]!.toLowerCase());
    if ('error' in ep) return ep;
    return prefixed[1]!.toLowerCase() === 'udp'
      ? { udp: ep, tcp: { ...DEFAULT_DAEMON } }
      : { udp: { ...DEFAULT_DAEMON }, tcp: ep };
  }

  // Two parts: both must carry a prefix, and the prefixes must differ.
  let udp: Endpoint | undefined;
  let tcp: Endpoint | undefined;
  for (const part of parts) {
    const prefixed = PREFIX_RE.exec(part);
    if (!prefixed) return { error: `${q(part)} has no udp:/tcp: prefix; ${FORMS}` };
    const kind = prefixed[1]!.toLowerCase();
    const ep = parseEndpoint(prefixed[2]!, kind);
    if ('error' in ep) return ep;
    if (kind === 'udp') {
      if (udp) return { error: 'udp: given twice' };
      udp = ep;
    } else {
      if (tcp) return { error: 'tcp: given twice' };
      tcp = ep;
    }
  }
  return { udp: udp!, tcp: tcp! };
}

/** Parses one `host:port` or `[ipv6]:port`. `kind` only improves the error text. */
function parseEndpoint(text: string, kind?: string): Endpoint | { error: string } {
  const where = kind ? `${kind}: address ${q(text)}` : `${q(text)}`;
  let host: string;
  let portText: string;

  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return { error: `${where}: missing "]" after IPv6 address` };
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (!rest.startsWith(':')) return { error: `${where}: expected ":port" after "]"` };
    portText = rest.slice(1);
    if (!isIPv6(host)) return { error: `${where}: ${q(host)} is not an IPv6 address` };
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return { error: `${where}: missing ":port"` };
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host === '') return { error: `${where}: missing host` };
    if (host.includes(':')) {
      // Looks like an unbracketed IPv6 literal (or a doubled prefix such as "udp:udp:h:p").
      return /^[0-9A-Fa-f:.%]+$/.test(host) || /^(udp|tcp)$/i.test(host.split(':')[0]!)
        ? { error: `${where}: IPv6 addresses need brackets, e.g. [::1]:2000` }
        : { error: `${where}: ${q(host)} is not a valid host name or IP address` };
    }
    if (!HOST_RE.test(host) || host.length > 253) {
      return { error: `${where}: ${q(host)} is not a valid host name or IP address` };
    }
    // All digits and dots looks like IPv4: insist it is a real one (catches 1.2.3.256, 1.2.3).
    if (/^[0-9.]+$/.test(host) && !isIPv4(host)) {
      return { error: `${where}: ${q(host)} is not a valid IPv4 address` };
    }
  }

  if (!/^[0-9]{1,5}$/.test(portText)) {
    return { error: `${where}: port ${q(portText)} is not an integer 1..65535` };
  }
  const port = Number(portText);
  if (port < 1 || port > 65535) return { error: `${where}: port ${port} is not in 1..65535` };
  return { host, port };
}

// Own IP checks instead of node:net's isIP: requiring 'net' costs ~4 ms at preload, and this
// module is loaded on every start.

const HEX_GROUP_RE = /^[0-9A-Fa-f]{1,4}$/;

/** Dotted quad, each part 0–255 without leading zeros. A loop: the equivalent regex costs ~0.2 ms to compile at start-up. */
export function isIPv4(s: string): boolean {
  let parts = 0;
  let i = 0;
  while (i <= s.length) {
    const start = i;
    let value = 0;
    while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) value = value * 10 + (s.charCodeAt(i++) - 48);
    const digits = i - start;
    if (digits === 0 || digits > 3 || (digits > 1 && s.charCodeAt(start) === 48) || value > 255) return false;
    parts++;
    if (i === s.length) return parts === 4;
    if (s.charCodeAt(i) !== 46 || parts === 4) return false;
    i++;
  }
  return false;
}

/** RFC 4291 text forms, incl. "::", embedded IPv4 ("::ffff:1.2.3.4") and a zone ("fe80::1%eth0"). */
export function isIPv6(s: string): boolean {
  const pct = s.indexOf('%');
  if (pct >= 0) {
    if (!/^[A-Za-z0-9._-]+$/.test(s.slice(pct + 1))) return false;
    s = s.slice(0, pct);
  }
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = (h: string | undefined): string[] => (h ? h.split(':') : []);
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const all = [...head, ...tail];
  let slots = 0;
  for (let i = 0; i < all.length; i++) {
    const g = all[i]!;
    if (i === all.length - 1 && g.includes('.')) {
      if (!isIPv4(g)) return false;
      slots += 2; // an embedded IPv4 address fills two 16-bit groups
    } else if (HEX_GROUP_RE.test(g)) {
      slots += 1;
    } else {
      return false;
    }
  }
  // "::" stands for at least one zero group; without it all 8 groups must be present.
  return halves.length === 2 ? slots <= 7 : slots === 8;
}
