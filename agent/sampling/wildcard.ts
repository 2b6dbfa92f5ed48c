// Wildcard matching for sampling rules (spec §4.3). Called for up to five attributes of every
// rule on every new trace, so it builds no RegExp and allocates nothing for ASCII input.
//
// Semantics:
//   `*`  any sequence of characters, including the empty one
//   `?`  exactly one character (a surrogate pair counts as one character)
//   else the literal character, compared case-insensitively
// The pattern must cover the whole text.
//
// Missing values: a pattern that is only `*`s matches anything, including undefined text. An
// undefined pattern never matches. Any other pattern treats undefined text as "" (so an empty
// pattern matches only empty/undefined text). The "implicit match" of a missing or empty REQUEST
// attribute (spec §4.1) is not decided here: callers use `matchAttribute`, which checks the
// attribute first and only then calls `wildcardMatch`.

const STAR = 42; // '*'
const QUESTION = 63; // '?'

export function wildcardMatch(pattern: string | undefined, text: string | undefined): boolean {
  if (pattern === undefined) return false;
  const pLen = pattern.length;
  // Fast path for the most common pattern of all.
  if (pLen === 1 && pattern.charCodeAt(0) === STAR) return true;
  const t = text ?? '';
  const tLen = t.length;

  // Greedy two-pointer glob match. On a mismatch we go back to the most recent `*` and let it
  // swallow one more character. Only the last `*` ever needs revisiting (an earlier `*` could only
  // produce the same suffix problem again), so the worst case is O(pLen * tLen) and patterns such
  // as `*a*a*a*a*b` never blow up the way a backtracking RegExp can.
  let p = 0;
  let i = 0;
  let starP = -1; // index in pattern just after the last `*` seen
  let starI = 0; // text index that `*` is currently assumed to stop at
  while (i < tLen) {
    if (p < pLen) {
      const pc = pattern.charCodeAt(p);
      if (pc === STAR) {
        // Collapse runs of `*`; remember where to resume if the rest fails.
        while (p < pLen && pattern.charCodeAt(p) === STAR) p++;
        if (p === pLen) return true; // trailing `*` swallows the rest of the text
        starP = p;
        starI = i;
        continue;
      }
      if (pc === QUESTION) {
        p++;
        i += charWidth(t, i);
        continue;
      }
      if (sameChar(pc, t.charCodeAt(i))) {
        p++;
        i++;
        continue;
      }
    }
    // Mismatch (or pattern exhausted with text left): retry with the last `*` one character longer.
    if (starP < 0) return false;
    starI += charWidth(t, starI);
    i = starI;
    p = starP;
  }
  // Text consumed: the rest of the pattern must be `*`s only.
  while (p < pLen && pattern.charCodeAt(p) === STAR) p++;
  return p === pLen;
}

/**
 * Rule-field matching with the SDKs' implicit match (spec §4.1): a request attribute that is
 * missing or empty matches every pattern, because the request simply carries no information
 * about it (e.g. a non-HTTP segment has no method). Otherwise the pattern must match.
 */
export function matchAttribute(pattern: string | undefined, value: string | undefined): boolean {
  return value === undefined || value === '' || wildcardMatch(pattern, value);
}

/** Width in UTF-16 code units of the character at `i`, so `?` and `*` never split a surrogate pair. */
function charWidth(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 1;
}

function sameChar(a: number, b: number): boolean {
  if (a === b) return true;
  if (a < 128 && b < 128) {
    // ASCII: fold A-Z onto a-z. Only letters may differ by 0x20 and still be "equal".
    const la = a >= 65 && a <= 90 ? a | 32 : a;
    const lb = b >= 65 && b <= 90 ? b | 32 : b;
    return la === lb;
  }
  return foldNonAscii(a) === foldNonAscii(b);
}

/**
 * Lower-cases one non-ASCII UTF-16 unit. Rare on the hot path (hosts, methods and URL paths are
 * almost always ASCII), so the small string it creates is acceptable. Characters whose lower case
 * is longer than one unit (e.g. U+0130) are compared as they are.
 */
function foldNonAscii(c: number): number {
  if (c < 128) return c >= 65 && c <= 90 ? c | 32 : c;
  if (c >= 0xd800 && c <= 0xdfff) return c; // surrogate halves: compare exactly
  const lower = String.fromCharCode(c).toLowerCase();
  return lower.length === 1 ? lower.charCodeAt(0) : c;
}
