// Annotations and metadata (spec §1.8, §1.9). Annotations are indexed by the service and accept
// only simple keys and scalar values. Metadata accepts "any" value, which here means any JS value a
// user or an instrumentation hands us: it is turned into plain JSON data right away, so that the
// serializer later never meets a cycle, a BigInt, a throwing getter or a 10 MB string, and so the
// entity holds no reference to the caller's live objects (DESIGN §4.5).

import { types } from 'node:util';

const ANNOTATION_KEY_RE = /^[A-Za-z0-9_]+$/;

/** Annotation keys usable in filter expressions: ASCII letters, digits, underscore (spec §1.8). */
export function isValidAnnotationKey(k: unknown): k is string {
  return typeof k === 'string' && ANNOTATION_KEY_RE.test(k);
}

/** string | boolean | finite number (`null`, NaN and Infinity are refused, unlike NODE). */
export function isValidAnnotationValue(v: unknown): v is string | number | boolean {
  const t = typeof v;
  return t === 'string' || t === 'boolean' || (t === 'number' && Number.isFinite(v));
}

/**
 * A namespace is a non-empty string, not reserved for AWS (`AWS.` prefix, DOCS) and not
 * `__proto__` (which would rewrite the prototype of a plain metadata object instead of adding a key).
 */
export function isValidMetadataNamespace(ns: unknown): ns is string {
  return typeof ns === 'string' && ns.length > 0 && !ns.startsWith('AWS.') && ns !== '__proto__';
}

/** Default size budget of one metadata value, in bytes of its JSON (UTF-8) form. */
export const DEFAULT_METADATA_BUDGET = 16 * 1024;
const MAX_DEPTH = 20;
const ELLIPSIS = '\u2026';

// Rough JSON sizes of non-string scalars and markers (strings are counted exactly). Exact number
// sizes would need String(n) per number; the budget only has to keep a value far below the 64 KB
// datagram, and the serializer enforces the exact document limit.
const COST_NULL = 4;
const COST_BOOLEAN = 5;
const COST_SMALL_INT = 7;
const COST_NUMBER = 20;

// The built-in `size` getters and iterators are used on Maps and Sets, never the instance's own
// (possibly overridden, user-code) methods.
// eslint-disable-next-line @typescript-eslint/no-non-null-assertion
const mapSize = Object.getOwnPropertyDescriptor(Map.prototype, 'size')!.get!;
// eslint-disable-next-line @typescript-eslint/no-non-null-assertion
const setSize = Object.getOwnPropertyDescriptor(Set.prototype, 'size')!.get!;

interface Walk {
  /** JSON bytes of budget left; may go slightly negative (markers are written past the limit). */
  left: number;
  /** The objects on the path from the root to the current value, for cycle detection. */
  path: object[];
}

/**
 * Returns a JSON-safe copy of `value` (plain objects, arrays, strings, finite numbers, booleans,
 * null), or `undefined` when the value has no JSON form (function, symbol, undefined, or an object
 * whose inspection throws) so the caller can drop it, as JSON.stringify would. Never throws.
 *
 * - cycles → '[Circular]'; nesting deeper than 20 → '[Too deep]'
 * - BigInt → decimal string; NaN / ±Infinity → 'NaN' / 'Infinity' / '-Infinity'
 * - functions, symbols, undefined → dropped from objects, null in arrays
 * - Error → { name, message, code? }; Date → ISO string ('Invalid Date' if invalid)
 * - Map → object of its entries; Set → array; Buffer / TypedArray / ArrayBuffer → '[Buffer N bytes]'
 * - toJSON() is honoured as JSON.stringify would; a property whose getter or toJSON throws is skipped
 * - after about `budget` bytes of JSON (default 16 KiB; strings and keys counted exactly, escapes and
 *   UTF-8 included), strings are cut with '…' and the remaining entries of an object / array are
 *   replaced by one '…' marker
 */
export function normalizeMetadataValue(value: unknown, budget: number = DEFAULT_METADATA_BUDGET): unknown {
  const left =
    typeof budget === 'number' && Number.isFinite(budget) && budget > 0 ? Math.floor(budget) : DEFAULT_METADATA_BUDGET;
  try {
    return normalize(value, { left, path: [] }, 0, false);
  } catch {
    return undefined; // only reachable through something like a stack overflow in user code
  }
}

function normalize(v: unknown, w: Walk, depth: number, afterToJSON: boolean): unknown {
  switch (typeof v) {
    case 'string':
      return budgetString(v, w);
    case 'number':
      if (Number.isFinite(v)) {
        w.left -= Number.isInteger(v) && v < 1e6 && v > -1e6 ? COST_SMALL_INT : COST_NUMBER;
        return v;
      }
      return budgetString(String(v), w);
    case 'boolean':
      w.left -= COST_BOOLEAN;
      return v;
    case 'bigint':
      return budgetString(v.toString(), w);
    case 'object':
      if (v === null) {
        w.left -= COST_NULL;
        return null;
      }
      return normalizeObject(v, w, depth, afterToJSON);
    default:
      return undefined; // undefined, function, symbol
  }
}

// Printable ASCII other than `"` and `\`: one JSON byte per character, nothing to count.
const PLAIN_JSON_RE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const ELLIPSIS_BYTES = 3;

/**
 * Charges a string to the budget at its exact JSON size in UTF-8 bytes (quotes, escapes such as
 * `\u0001` = 6 bytes, multi-byte characters), cutting it with '…' when it does not fit. Cuts never
 * split a surrogate pair. The common case (short, plain ASCII) is one regex test.
 */
function budgetString(s: string, w: Walk): string {
  const left = w.left;
  if (s.length + 2 <= left && PLAIN_JSON_RE.test(s)) {
    w.left = left - s.length - 2;
    return s;
  }
  let cost = 2;
  let cutAt = -1; // last index at which the kept part plus '…' still fits
  let cutCost = 2;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    let bytes: number;
    let units = 1;
    if (c < 0x80) {
      if (c >= 0x20) bytes = c === 0x22 || c === 0x5c ? 2 : 1;
      else bytes = c === 8 || c === 9 || c === 10 || c === 12 || c === 13 ? 2 : 6;
    } else if (c < 0x800) {
      bytes = 2;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        bytes = 4;
        units = 2;
      } else {
        bytes = 6; // lone surrogate: JSON.stringify writes \udxxx
      }
    } else {
      bytes = 3;
    }
    if (cost + bytes + ELLIPSIS_BYTES <= left) {
      cutAt = i + units;
      cutCost = cost + bytes;
    } else if (cost + bytes > left) {
      // Does not fit whole: keep what fits with the marker.
      const out = s.slice(0, cutAt < 0 ? 0 : cutAt) + ELLIPSIS;
      w.left = left - (cutAt < 0 ? 2 : cutCost) - ELLIPSIS_BYTES;
      return out;
    }
    cost += bytes;
    i += units - 1;
  }
  w.left = left - cost;
  return s;
}

/** Charges a key (quotes, colon, comma) to the budget; a key longer than what is left is cut like a string. */
function budgetKey(k: string, w: Walk): string {
  w.left -= 2; // the colon and the comma
  return budgetString(k, w);
}

function normalizeObject(o: object, w: Walk, depth: number, afterToJSON: boolean): unknown {
  if (depth >= MAX_DEPTH) return budgetString('[Too deep]', w);
  if (w.path.includes(o)) return budgetString('[Circular]', w);
  try {
    // Plain objects and arrays (nearly all metadata) skip the type probes below, which are calls
    // into C++. getPrototypeOf may hit a Proxy trap: a throw lands in the catch like any other.
    const proto: unknown = Object.getPrototypeOf(o);
    if (proto === Object.prototype || proto === null || proto === Array.prototype) {
      if (!afterToJSON && proto !== Array.prototype && typeof (o as { toJSON?: unknown }).toJSON === 'function') {
        return normalizeWithToJSON(o, w, depth);
      }
      w.path.push(o);
      try {
        return Array.isArray(o) ? normalizeArray(o as unknown[], w, depth) : normalizePlain(o, w, depth);
      } finally {
        w.path.pop();
      }
    }

    // util.types checks read internal slots: no getters, no Proxy traps, no user code.
    if (types.isArrayBufferView(o)) return budgetString(`[Buffer ${(o as ArrayBufferView).byteLength} bytes]`, w);
    if (types.isAnyArrayBuffer(o)) return budgetString(`[Buffer ${(o as ArrayBuffer).byteLength} bytes]`, w);
    if (types.isDate(o)) {
      const t = Date.prototype.getTime.call(o);
      return budgetString(Number.isNaN(t) ? 'Invalid Date' : Date.prototype.toISOString.call(o), w);
    }
    if (types.isNativeError(o) || o instanceof Error) return normalizeError(o as Error, w);

    if (!afterToJSON && typeof (o as { toJSON?: unknown }).toJSON === 'function') {
      return normalizeWithToJSON(o, w, depth);
    }

    w.path.push(o);
    try {
      if (types.isMap(o)) return normalizeMap(o as Map<unknown, unknown>, w, depth);
      if (types.isSet(o)) return normalizeSet(o as Set<unknown>, w, depth);
      if (Array.isArray(o)) return normalizeArray(o as unknown[], w, depth);
      return normalizePlain(o, w, depth);
    } finally {
      w.path.pop();
    }
  } catch {
    // A Proxy that throws on every trap, a revoked Proxy, a throwing toJSON: the value is skipped.
    return undefined;
  }
}

/**
 * What JSON.stringify would write for an object with toJSON (Decimal, ObjectId, moment, ...). As in
 * JSON.stringify, the result's own toJSON is not called again; a toJSON returning `this` means
 * "walk me as I am". A throwing toJSON propagates to normalizeObject's catch: the value is skipped.
 */
function normalizeWithToJSON(o: object, w: Walk, depth: number): unknown {
  const replaced: unknown = (o as { toJSON: (key: string) => unknown }).toJSON('');
  w.path.push(o); // `o` inside its own toJSON result is a cycle, not an endless recursion
  try {
    if (replaced === o) {
      if (types.isMap(o)) return normalizeMap(o as Map<unknown, unknown>, w, depth);
      if (types.isSet(o)) return normalizeSet(o as Set<unknown>, w, depth);
      return Array.isArray(o) ? normalizeArray(o as unknown[], w, depth) : normalizePlain(o, w, depth);
    }
    return normalize(replaced, w, depth + 1, true);
  } finally {
    w.path.pop();
  }
}

function normalizePlain(o: object, w: Walk, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  w.left -= 2;
  const keys = Object.keys(o);
  for (let i = 0; i < keys.length; i++) {
    if (w.left <= 0) {
      setKey(out, ELLIPSIS, `${keys.length - i} more`);
      w.left -= 12;
      break;
    }
    const k = keys[i];
    let raw: unknown;
    try {
      raw = (o as Record<string, unknown>)[k];
    } catch {
      continue; // throwing getter: skip the property
    }
    const key = budgetKey(k, w);
    const v = normalize(raw, w, depth + 1, false);
    if (v !== undefined) setKey(out, key, v);
  }
  return out;
}

function normalizeArray(a: unknown[], w: Walk, depth: number): unknown[] {
  const out: unknown[] = [];
  w.left -= 2;
  const n = a.length;
  for (let i = 0; i < n; i++) {
    if (w.left <= 0) {
      out.push(`${ELLIPSIS} ${n - i} more`);
      w.left -= 12;
      break;
    }
    let raw: unknown;
    try {
      raw = a[i];
    } catch {
      raw = undefined; // throwing index getter (Proxy): null, to keep the positions
    }
    w.left -= 1;
    const v = normalize(raw, w, depth + 1, false);
    out.push(v === undefined ? nullInArray(w) : v);
  }
  return out;
}

/** In arrays, what has no JSON form becomes null (as JSON.stringify writes it), charged to the budget. */
function nullInArray(w: Walk): null {
  w.left -= COST_NULL;
  return null;
}

function normalizeMap(m: Map<unknown, unknown>, w: Walk, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  w.left -= 2;
  const it = Map.prototype.entries.call(m);
  let remaining = mapSize.call(m) as number;
  for (let step = it.next(); !step.done; step = it.next()) {
    if (w.left <= 0) {
      setKey(out, ELLIPSIS, `${remaining} more`);
      w.left -= 12;
      break;
    }
    remaining--;
    const [key, raw] = step.value;
    const k = budgetKey(mapKey(key), w);
    const v = normalize(raw, w, depth + 1, false);
    if (v !== undefined) setKey(out, k, v);
  }
  return out;
}

function normalizeSet(s: Set<unknown>, w: Walk, depth: number): unknown[] {
  const out: unknown[] = [];
  w.left -= 2;
  const it = Set.prototype.values.call(s);
  let remaining = setSize.call(s) as number;
  for (let step = it.next(); !step.done; step = it.next()) {
    if (w.left <= 0) {
      out.push(`${ELLIPSIS} ${remaining} more`);
      w.left -= 12;
      break;
    }
    remaining--;
    w.left -= 1;
    const v = normalize(step.value, w, depth + 1, false);
    out.push(v === undefined ? nullInArray(w) : v);
  }
  return out;
}

/** Map keys become object keys the way a reader would expect: strings as-is, primitives stringified. */
function mapKey(k: unknown): string {
  switch (typeof k) {
    case 'string':
      return k;
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return String(k);
    case 'symbol':
      return k.toString();
    default:
      return k === null ? 'null' : '[object]'; // never call a key object's toString (user code)
  }
}

/** Error → { name, message, code? }; each field read on its own, so one throwing getter loses only that field. */
function normalizeError(e: Error, w: Walk): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  w.left -= 2;
  const name = readString(e, 'name');
  if (name !== undefined) out.name = budgetString(name, w);
  const message = readString(e, 'message');
  if (message !== undefined) out.message = budgetString(message, w);
  const code = readString(e, 'code');
  if (code !== undefined) out.code = budgetString(code, w);
  w.left -= 30; // the three keys
  return out;
}

function readString(o: object, key: string): string | undefined {
  try {
    const v = (o as Record<string, unknown>)[key];
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Assignment, except for `__proto__`, which must become an own data property, not a prototype change. */
function setKey(out: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') {
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  } else {
    out[k] = v;
  }
}
