// Entity names (spec §1.3). The service rejects a document whose name has characters outside the
// documented allowlist or is longer than 200 characters (InvalidName), which would lose the whole
// segment, so every name passes through here. Almost every name is already clean (a service name,
// `GET /users`, `DynamoDB`), so the common case is one regex test and returns the same string.

const MAX_NAME_CODE_POINTS = 200;
const MAX_SCAN_UNITS = 4096;

// Allowed: Unicode letters, digits, space separators and `_ . : / % & # = + \ - @`.
// "Whitespace" is taken as \p{Zs} (space, no-break space, ...): tabs and line breaks are removed, as
// control characters have no place in a name shown in the console and the service's own notion of
// whitespace is undocumented.
// The Unicode expressions are built on first use: creating them costs ~0.5 ms of start-up and
// ASCII names never need them.
// Fast path: first code point must not be a space (leading-space and blank names take the slow
// path), then at most 199 more; with the `u` flag `{0,199}` counts code points, not UTF-16 units,
// and a lone surrogate never matches, so the slow path removes it.
let unicode: { clean: RegExp; disallowed: RegExp; nonSpace: RegExp } | undefined;
function unicodeRes(): { clean: RegExp; disallowed: RegExp; nonSpace: RegExp } {
  return (unicode ??= {
    clean: /^[\p{L}\p{N}_.:/%&#=+\\\-@][\p{L}\p{N}\p{Zs}_.:/%&#=+\\\-@]{0,199}$/u,
    disallowed: /[^\p{L}\p{N}\p{Zs}_.:/%&#=+\\\-@]/gu,
    nonSpace: /[^\p{Zs}]/u,
  });
}
// The clean-name test restricted to ASCII, without the `u` flag: about 3x faster, and almost every name
// (hosts, routes, service names) is ASCII. Non-ASCII names fall through to the Unicode test.
const CLEAN_ASCII_NAME_RE = /^[A-Za-z0-9_.:/%&#=+\\\-@][A-Za-z0-9 _.:/%&#=+\\\-@]{0,199}$/;

/**
 * Returns `name` made acceptable to X-Ray: disallowed characters removed, cut to 200 code points.
 * If nothing (or only spaces) is left, or `name` is not a string/number, returns `fallback` (itself
 * cleaned the same way, or `"unknown"` if that is empty too). Never throws.
 */
export function sanitizeName(name: unknown, fallback: string): string {
  // Most names repeat (every request's segment carries the service name): remember the last one.
  if (name === lastName && fallback === lastFallback) return lastResult;
  const result = sanitize(name, fallback);
  if (typeof name === 'string') {
    lastName = name;
    lastFallback = fallback;
    lastResult = result;
  }
  return result;
}

let lastName: string | undefined;
let lastFallback: string | undefined;
let lastResult = '';

function sanitize(name: unknown, fallback: string): string {
  const cleaned = cleanName(name);
  if (cleaned !== '') return cleaned;
  // The fallback is normally an already-clean constant or the configured service name; cleaning it
  // costs one regex test and protects against a service name the service would refuse.
  const fb = cleanName(fallback);
  return fb !== '' ? fb : 'unknown';
}

/** `name` made acceptable to X-Ray as sanitizeName does, but '' when nothing of it is left (no fallback). */
export function cleanName(name: unknown): string {
  let s: string;
  if (typeof name === 'string') s = name;
  else if (typeof name === 'number' || typeof name === 'bigint') s = String(name);
  else return ''; // objects are not stringified: their toString is user code that may throw

  if (CLEAN_ASCII_NAME_RE.test(s)) return s;
  const re = unicodeRes();
  if (re.clean.test(s)) return s;

  // Bound the work on absurd inputs (a 1 MB URL path): only the head can survive the 200-code-point
  // cut unless it is mostly disallowed characters, and a split surrogate pair at the cut is removed
  // below like any other lone surrogate.
  if (s.length > MAX_SCAN_UNITS) s = s.slice(0, MAX_SCAN_UNITS);
  s = s.replace(re.disallowed, '');
  if (!re.nonSpace.test(s)) return '';
  if (s.length <= MAX_NAME_CODE_POINTS) return s;
  // Cut at 200 code points without splitting a surrogate pair (the regex above removed lone ones).
  let units = 0;
  for (let cp = 0; cp < MAX_NAME_CODE_POINTS && units < s.length; cp++) {
    const c = s.charCodeAt(units);
    units += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
  }
  return s.slice(0, units);
}
