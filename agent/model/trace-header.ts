// The `X-Amzn-Trace-Id` header (spec §3): parsing the incoming value (§3.3), formatting the outgoing
// one (§3.4) and the response header (§3.5). The input comes from the network, so parsing is
// defensive: anything malformed is treated as "no header" (DESIGN §4.7), never thrown. It runs once
// per incoming request, so it scans with indexOf instead of split() and compares the canonical key
// spellings before falling back to case-insensitive matching.

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

const ROOT_RE = /^1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}$/;
const PARENT_RE = /^[0-9a-fA-F]{16}$/;
// Pass-through pairs are re-sent as outgoing header values; Node's setHeader throws on control
// characters, so only printable ASCII is carried (which also makes characters equal bytes for the cap).
const PRINTABLE_ASCII_RE = /^[\x20-\x7e]*$/;
const UPPER_HEX_RE = /[A-F]/;

/**
 * Parses an incoming header value (a string, Node's string[] for repeated headers, or undefined).
 * Returns undefined when there is no usable `Root`: the caller then starts a new trace and makes its
 * own sampling decision, trusting neither `Parent` nor `Sampled` (spec §3.3.3). Never throws.
 */
export function parseTraceHeader(value: string | string[] | undefined): TraceHeader | undefined {
  let s: unknown = value;
  if (Array.isArray(s)) s = s.length > 0 ? s[0] : undefined;
  if (typeof s !== 'string' || s.length === 0) return undefined;

  // Several values joined with ',' (a proxy merged repeated headers): only the first counts.
  const comma = s.indexOf(',');
  if (comma >= 0) s = (s as string).slice(0, comma);
  const str = s as string;
  if (str.length > MAX_HEADER_LENGTH) {
    if (log.enabled('debug')) log.debug('x-amzn-trace-id ignored: too long', { length: str.length });
    return undefined;
  }

  let root: string | undefined;
  let parent: string | undefined;
  let sampled: '1' | '0' | '?' | undefined;
  let sawRoot = false;
  let sawParent = false;
  let sawSampled = false;
  let extra = '';

  const len = str.length;
  let pos = 0;
  while (pos < len) {
    let end = str.indexOf(';', pos);
    if (end < 0) end = len;
    const part = str.slice(pos, end);
    pos = end + 1;

    const eq = part.indexOf('=');
    if (eq < 0) continue; // empty or `=`-less part: skipped, the rest of the header still counts
    const key = part.slice(0, eq).trim();
    if (key.length === 0) continue;
    const val = part.slice(eq + 1).trim();

    // Known keys have lengths 4, 6 and 7: a length switch avoids lower-casing every key.
    // The first occurrence of a known key wins; repeats are dropped (never passed through).
    switch (key.length) {
      case 4:
        if (key === 'Root' || key.toLowerCase() === 'root') {
          if (!sawRoot) {
            sawRoot = true;
            if (ROOT_RE.test(val)) root = UPPER_HEX_RE.test(val) ? val.toLowerCase() : val;
          }
          continue;
        }
        // ALB's own hop id: meaningless downstream, every SDK drops it (spec §3.1).
        if (key === 'Self' || key.toLowerCase() === 'self') continue;
        break;
      case 6:
        if (key === 'Parent' || key.toLowerCase() === 'parent') {
          if (!sawParent) {
            sawParent = true;
            if (PARENT_RE.test(val)) parent = UPPER_HEX_RE.test(val) ? val.toLowerCase() : val;
          }
          continue;
        }
        break;
      case 7:
        if (key === 'Sampled' || key.toLowerCase() === 'sampled') {
          if (!sawSampled) {
            sawSampled = true;
            if (val === '1' || val === '0' || val === '?') sampled = val;
          }
          continue;
        }
        break;
    }

    // Pass-through pair (Lineage, vendor data): kept verbatim, in order, within the byte cap.
    if (!PRINTABLE_ASCII_RE.test(key) || !PRINTABLE_ASCII_RE.test(val)) continue;
    const pairLength = key.length + 1 + val.length;
    const newLength = extra.length === 0 ? pairLength : extra.length + 1 + pairLength;
    if (newLength > MAX_EXTRA_BYTES) continue; // dropped; a later, shorter pair may still fit
    extra = extra.length === 0 ? key + '=' + val : extra + ';' + key + '=' + val;
  }

  if (root === undefined) {
    if (log.enabled('debug')) {
      log.debug('x-amzn-trace-id ignored: missing or malformed Root', { value: str.slice(0, 200) });
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
