// The `X-Amzn-Trace-Id` header (spec §3): parsing the incoming value (§3.3), formatting the outgoing
// one (§3.4) and the response header (§3.5). The input comes from the network, so parsing is
// defensive: anything malformed is treated as "no header" (DESIGN §4.7), never thrown. It runs once
// per incoming request: the canonical form is recognised by one regex, anything else is scanned on
// index ranges of the input (no split(), trim() or toLowerCase() per part).

import { log } from '../log';

export interface TraceHeader {
  /** Trace id, validated and lower-cased. Always set on a header returned by parseTraceHeader. */
  root?: string;
  /** Upstream entity id (16 hex, lower-cased); undefined when missing or malformed. */
  parent?: string;
  /** Upstream decision; undefined when missing or not one of the three legal values. */
  sampled?: '1' | '0' | '?';
  /** Pass-through pairs (`Lineage=…` and any unknown key) as `K=V;K=V`, in order; '' when none. */
  extra: string;
}

/** Headers longer than this (after taking the first value) are ignored as hostile or broken. */
const MAX_HEADER_LENGTH = 2048;
/** Total size of the pass-through pairs, as NODE caps its `additionalTraceData` (spec §3.3.2). */
const MAX_EXTRA_BYTES = 256;

// The scanner compares char codes on index ranges of the input, so a header costs only the slices
// it keeps (root, parent, pass-through pairs) and the result object.
/** IS_HEX[c] = 1 for the ASCII codes of 0-9, a-f, A-F. */
const IS_HEX = new Uint8Array(128);
for (const ch of '0123456789abcdefABCDEF') IS_HEX[ch.charCodeAt(0)] = 1;

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13); // space, \t \n \v \f \r
}

/** Hex digits in s[from, to)? Returns 0 = no, 1 = yes (lower case), 2 = yes with upper-case digits. */
function hexRange(s: string, from: number, to: number): number {
  let upper = false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || IS_HEX[c] === 0) return 0;
    if (c >= 65 && c <= 70) upper = true;
  }
  return upper ? 2 : 1;
}

/** ASCII case-insensitive: does s[from, from + word.length) equal `word` (given in lower case)? */
function keyIs(s: string, from: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    if ((s.charCodeAt(from + i) | 0x20) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Pass-through pairs are re-sent as outgoing header values, and Node's setHeader throws on control
 * characters: only printable ASCII is carried (which also makes characters equal bytes for the cap).
 */
function printableRange(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** `Root=<35>;Parent=<16>;Sampled=<1 char>` then `;` or the end of the first value. */
const CANONICAL_PREFIX_RE = /^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=[01?](?:;|$)/;

/** Root: `1-` 8 hex `-` 24 hex (spec §3.3.3); returned lower-cased, or undefined. */
function parseRoot(s: string, from: number, to: number): string | undefined {
  if (to - from !== 35) return undefined;
  // '1', '-' and '-' at their fixed positions
  if (s.charCodeAt(from) !== 49 || s.charCodeAt(from + 1) !== 45 || s.charCodeAt(from + 10) !== 45) return undefined;
  const a = hexRange(s, from + 2, from + 10);
  const b = a === 0 ? 0 : hexRange(s, from + 11, to);
  if (b === 0) return undefined;
  const v = s.slice(from, to);
  return a === 2 || b === 2 ? v.toLowerCase() : v;
}

/** Parent: 16 hex (spec §3.3.4); returned lower-cased, or undefined. */
function parseParent(s: string, from: number, to: number): string | undefined {
  if (to - from !== 16) return undefined;
  const h = hexRange(s, from, to);
  if (h === 0) return undefined;
  const v = s.slice(from, to);
  return h === 2 ? v.toLowerCase() : v;
}

/**
 * Parses an incoming header value (a string, Node's string[] for repeated headers, or undefined).
 * Returns undefined when there is no usable `Root`: the caller then starts a new trace and makes its
 * own sampling decision, trusting neither `Parent` nor `Sampled` (spec §3.3.3). Never throws.
 *
 * Per `;`-separated part: surrounding whitespace is ignored, empty parts and parts without `=` (or
 * with an empty key) are skipped, the key ends at the first `=`, and whitespace around the `=` is
 * ignored. The first occurrence of Root / Parent / Sampled wins; repeats are dropped.
 */
export function parseTraceHeader(value: string | string[] | undefined): TraceHeader | undefined {
  let v: unknown = value;
  if (Array.isArray(v)) v = v.length > 0 ? v[0] : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v;

  // Several values joined with ',' (a proxy merged repeated headers): only the first counts.
  let len = s.indexOf(',');
  if (len < 0) len = s.length;
  if (len === 0) return undefined;
  if (len > MAX_HEADER_LENGTH) {
    if (log.enabled('debug')) log.debug('x-amzn-trace-id ignored: too long', { length: len });
    return undefined;
  }

  let root: string | undefined;
  let parent: string | undefined;
  let sampled: '1' | '0' | '?' | undefined;
  let sawRoot = false;
  let sawParent = false;
  let sawSampled = false;
  let extra = '';

  let pos = 0;
  // Fast path: the exact form AWS services and SDKs send (lower-case hex, canonical key spelling,
  // no spaces) is checked with one compiled regex; only what follows it goes through the scanner.
  if (CANONICAL_PREFIX_RE.test(s)) {
    root = s.slice(5, 40);
    parent = s.slice(48, 64);
    const c = s.charCodeAt(73);
    sampled = c === 49 ? '1' : c === 48 ? '0' : '?';
    sawRoot = sawParent = sawSampled = true;
    pos = 75;
  }
  let nextEq = -1;
  while (pos < len) {
    let end = s.indexOf(';', pos);
    if (end < 0 || end > len) end = len;
    const partStart = pos;
    pos = end + 1;

    // The next '=' is searched only once it is behind us, so a run of `=`-less parts costs one
    // scan in total, not one per part (headers come from the network).
    if (nextEq < partStart) {
      nextEq = s.indexOf('=', partStart);
      if (nextEq < 0 || nextEq >= len) break; // no `=` left: no pair can follow
    }
    const eq = nextEq;
    if (eq >= end) continue; // empty or `=`-less part: skipped, the rest still counts
    let ks = partStart;
    while (ks < eq && isSpace(s.charCodeAt(ks))) ks++;
    let ke = eq;
    while (ke > ks && isSpace(s.charCodeAt(ke - 1))) ke--;
    if (ke === ks) continue; // `=value`: no key
    let vs = eq + 1;
    while (vs < end && isSpace(s.charCodeAt(vs))) vs++;
    let ve = end;
    while (ve > vs && isSpace(s.charCodeAt(ve - 1))) ve--;

    // Known keys have lengths 4, 6 and 7: a length switch before any character comparison.
    switch (ke - ks) {
      case 4:
        if (keyIs(s, ks, 'root')) {
          if (!sawRoot) {
            sawRoot = true;
            root = parseRoot(s, vs, ve);
          }
          continue;
        }
        // ALB's own hop id: meaningless downstream, every SDK drops it (spec §3.1).
        if (keyIs(s, ks, 'self')) continue;
        break;
      case 6:
        if (keyIs(s, ks, 'parent')) {
          if (!sawParent) {
            sawParent = true;
            parent = parseParent(s, vs, ve);
          }
          continue;
        }
        break;
      case 7:
        if (keyIs(s, ks, 'sampled')) {
          if (!sawSampled) {
            sawSampled = true;
            if (ve - vs === 1) {
              const c = s.charCodeAt(vs);
              sampled = c === 49 ? '1' : c === 48 ? '0' : c === 63 ? '?' : undefined;
            }
          }
          continue;
        }
        break;
    }

    // Pass-through pair (Lineage, vendor data): kept verbatim, in order, within the byte cap.
    if (!printableRange(s, ks, ke) || !printableRange(s, vs, ve)) continue;
    const pairLength = ke - ks + 1 + (ve - vs);
    const newLength = extra.length === 0 ? pairLength : extra.length + 1 + pairLength;
    if (newLength > MAX_EXTRA_BYTES) continue; // dropped; a later, shorter pair may still fit
    // No whitespace around the `=` (the usual case): the pair is one slice of the input.
    const pair = ke === eq && vs === eq + 1 ? s.slice(ks, ve) : s.slice(ks, ke) + '=' + s.slice(vs, ve);
    extra = extra.length === 0 ? pair : extra + ';' + pair;
  }

  if (root === undefined) {
    if (log.enabled('debug')) {
      log.debug('x-amzn-trace-id ignored: missing or malformed Root', { value: s.slice(0, Math.min(len, 200)) });
    }
    return undefined;
  }
  // Always the same four properties (absent ones undefined): one object shape for V8.
  return { root, parent, sampled, extra };
}

/**
 * Outgoing header value (spec §3.4): `Root=…;Parent=…;Sampled=1|0[;extra]`. `Parent` is left out
 * when unknown. Inputs are the agent's own ids; non-string values are skipped rather than thrown on.
 */
export function formatTraceHeader(
  root: string,
  parent: string | undefined,
  sampled: boolean,
  extra?: string,
): string {
  let out = 'Root=' + (typeof root === 'string' ? root : '');
  if (typeof parent === 'string' && parent.length > 0) out += ';Parent=' + parent;
  out += sampled ? ';Sampled=1' : ';Sampled=0';
  if (typeof extra === 'string' && extra.length > 0) out += ';' + extra;
  return out;
}

/**
 * Response header value (spec §3.5): `Root=…`, plus `;Sampled=0|1` when the caller asked for the
 * decision (incoming `Sampled=?`).
 */
export function formatResponseHeader(root: string, sampled?: boolean): string {
  const r = 'Root=' + (typeof root === 'string' ? root : '');
  if (sampled === undefined) return r;
  return sampled ? r + ';Sampled=1' : r + ';Sampled=0';
}
