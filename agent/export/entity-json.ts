// The JSON of an entity tree, written as UTF-8 bytes straight into the buffer the datagram leaves
// from, byte for byte what JSON.stringify(entity) produces (same keys, same order).
//
// Why bytes and not a string: building the document as a string made ~45 concatenated pieces, the
// http block's text, and a flat copy for the socket, ~2 KB of garbage per traced request (a fifth of
// the plain app's allocation with the agent). Young-generation collections come that much more
// often, and V8 grows the young generation after a number of collections (design decision 22).
// Written here, a request segment allocates nothing.
//
// What is written by hand: names, ids and the spec's plain fields; timestamps, from two integers
// (V8's double-to-string and its number-string cache cost more: see `time`); the `http` block an
// instrumentation recorded (HttpFacts), and one set as an object when it has the spec's shape
// (HTTP_SHAPE). Blocks the recorder shares between segments (`service`, `aws`, frozen) are encoded
// once and copied. Everything else (sql, annotations, metadata, cause, an app's own http or aws
// block) goes through JSON.stringify and is encoded as it is written. A unit test holds the text to
// JSON.stringify's over every shape.

import type { Entity, HttpFacts, Segment, Subsegment } from '../model/entity';

// The document being written: module state rather than arguments, so that the small writers below
// take one argument and return nothing. `pos > end` marks a document that did not fit.
const EMPTY: Buffer = Buffer.alloc(0);
let buf = EMPTY;
let pos = 0;
let end = 0;
let writing = false;

/**
 * Writes the JSON of `e` into `target` from `at`, using no byte at or past `limit`. Returns the
 * offset after the last byte, or -1 when the document does not fit (bytes from `at` on are then
 * garbage). Throws what JSON.stringify throws (a BigInt in an app's block).
 */
export function writeEntity(target: Buffer, at: number, limit: number, e: Entity): number {
  // An app's getter or toJSON runs while a document is written (JSON.stringify calls it); if it
  // closed a subsegment whose document then went out at once, that write would land in the middle
  // of this one. Refused instead: the serializer counts and logs it as a document it could not write.
  if (writing) throw new Error('an X-Ray document was written while another one was being written');
  writing = true;
  buf = target;
  pos = at;
  end = limit;
  try {
    entity(e);
    return pos <= end ? pos : -1;
  } finally {
    writing = false;
    buf = EMPTY;
  }
}

/** The same JSON as a string (tests; a document of any size). */
export function entityJson(e: Entity): string {
  for (let size = 1 << 16; ; size *= 4) {
    const target = Buffer.allocUnsafe(size);
    const n = writeEntity(target, 0, size, e);
    if (n >= 0) return target.toString('utf8', 0, n);
  }
}

function overflow(): void {
  pos = end + 1;
}

/** Text that JSON writes as it is and that is ASCII: the constant pieces and digits below. */
function ascii(s: string): void {
  const n = s.length;
  const p = pos;
  if (p + n > end) return overflow();
  const b = buf;
  for (let i = 0; i < n; i++) b[p + i] = s.charCodeAt(i);
  pos = p + n;
}

/** Any text, encoded as UTF-8 (the output of JSON.stringify). */
function utf8(s: string): void {
  const p = pos;
  const room = end - p;
  if (room < 0) return;
  // A UTF-16 unit is at most 3 UTF-8 bytes: short text needs no byte count.
  if (s.length * 3 > room && Buffer.byteLength(s) > room) return overflow();
  pos = p + buf.write(s, p, room, 'utf8');
}

function bytes(src: Uint8Array): void {
  const p = pos;
  if (p + src.length > end) return overflow();
  buf.set(src, p);
  pos = p + src.length;
}

/** JSON string literal of s, as JSON.stringify(s) writes it. */
function str(s: string): void {
  const n = s.length;
  const p = pos;
  if (p + n + 2 <= end) {
    const b = buf;
    b[p] = 34;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      // Quote, backslash, control characters and anything past ASCII: JSON.stringify's text, encoded.
      if (c < 32 || c > 126 || c === 34 || c === 92) break;
      b[p + 1 + i] = c;
    }
    if (i === n) {
      b[p + 1 + n] = 34;
      pos = p + n + 2;
      return;
    }
  }
  utf8(JSON.stringify(s));
}

/** A non-negative integer below 2^53, in decimal. */
function uint(n: number): void {
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  const p = pos;
  if (p + digits > end) return overflow();
  const b = buf;
  for (let k = digits - 1; k >= 0; k--) {
    const q = Math.floor(n / 10);
    b[p + k] = 48 + (n - q * 10);
    n = q;
  }
  pos = p + digits;
}

/** A number as JSON.stringify writes it. */
function num(v: number): void {
  if (v >= 0 && Number.isSafeInteger(v)) uint(v);
  else ascii(Number.isFinite(v) ? '' + v : 'null');
}

/** Anything else, through JSON.stringify (which writes `undefined` as no text: "undefined" here, as before). */
function json(v: unknown): void {
  utf8('' + JSON.stringify(v));
}

/** An optional field written through JSON.stringify: `prefix` (`,"key":`) and its value, unless undefined. */
function jsonField(prefix: string, v: unknown): void {
  if (v === undefined) return;
  ascii(prefix);
  json(v);
}

/** A string, number or boolean, as JSON.stringify writes it. */
function plainValue(v: string | number | boolean): void {
  if (typeof v === 'string') str(v);
  else if (typeof v === 'number') num(v);
  else ascii(v ? 'true' : 'false');
}

/**
 * An epoch-seconds timestamp as JSON.stringify(t) writes it. The recorder's clock gives whole
 * microseconds (nowSeconds): those are written from two integers, which is cheaper than V8's
 * shortest-form conversion of a double and leaves nothing behind: V8 caches converted numbers in a
 * heap table, and a fresh value per timestamp kept that cache churning strings into the old
 * generation (measured: the young generation reached 32 MiB twice as fast, with 6 MiB more old
 * space). The seconds repeat for a whole second, so their text is made once. Any other value goes
 * through JSON.stringify.
 */
function time(t: number): void {
  const micros = Math.round(t * 1e6);
  if (micros / 1e6 !== t || t < 0 || micros > Number.MAX_SAFE_INTEGER) return json(t);
  const sec = Math.floor(t);
  const frac = micros - sec * 1e6;
  if (sec !== lastSeconds) {
    lastSeconds = sec;
    lastSecondsText = '' + sec;
  }
  ascii(lastSecondsText);
  if (frac === 0) return;
  const p = pos;
  if (p + 7 > end) return overflow();
  // Six decimals, then the shortest form: without the trailing zeros.
  const b = buf;
  b[p] = 46;
  let rest = frac;
  let last = 0;
  for (let k = 6; k >= 1; k--) {
    const q = (rest / 10) | 0;
    const digit = rest - q * 10;
    b[p + k] = 48 + digit;
    if (last === 0 && digit !== 0) last = k;
    rest = q;
  }
  pos = p + 1 + last;
}

let lastSeconds = -1;
let lastSecondsText = '';

const sharedBytes = new WeakMap<object, Buffer>();

/**
 * The `service` or `aws` block: the recorder hands every segment the same frozen object (never
 * mutated), so it is encoded once. A block of one entity's own (an AWS call's `aws`) is not frozen
 * and is written each time.
 */
function sharedBlock(v: object): void {
  let b = sharedBytes.get(v);
  if (b === undefined) {
    const text = '' + JSON.stringify(v);
    if (!Object.isFrozen(v)) return utf8(text);
    b = Buffer.from(text, 'utf8');
    sharedBytes.set(v, b);
  }
  bytes(b);
}

// An `http` block set as an object (spans/aws.ts; one an app set, or read and so maybe changed),
// written field by field when it has the spec's shape: JSON.stringify of it was ~0.6 µs of a
// request segment's ~0.85 µs of serialization (V8 11 sets up a stringifier for every call and looks
// for toJSON on each object). The block's keys (for-in, each one its own: no array made per object)
// must be, in that order, among the fields of HTTP_SHAPE, with no toJSON, and every value a string,
// a number, a boolean, undefined, or (request, response) an object of the nested shape. Anything
// else (a block an app built or added to, a value nested deeper) goes to JSON.stringify as before.
interface Shape {
  readonly fields: readonly string[];
  /** `"field":` for each field. */
  readonly prefixes: readonly Buffer[];
  /** The shape of an object value, by field; a field without one takes only plain values. */
  readonly nested?: readonly (Shape | undefined)[];
}

function shapeOf(fields: readonly string[], nested?: readonly (Shape | undefined)[]): Shape {
  return { fields, prefixes: fields.map((k) => Buffer.from(JSON.stringify(k) + ':')), nested };
}

const HTTP_SHAPE = shapeOf(
  ['request', 'response'],
  [shapeOf(['method', 'url', 'user_agent', 'client_ip', 'x_forwarded_for', 'traced']), shapeOf(['status', 'content_length'])],
);

type Fields = Record<string, unknown> & { toJSON?: unknown };
const hasOwn = Object.hasOwn;

function httpBlock(http: object): void {
  const start = pos;
  if (shaped(http as Fields, HTTP_SHAPE)) return;
  pos = start;
  json(http);
}

/** Writes `o` when it has `shape` as described above; false (bytes written are garbage) otherwise. */
function shaped(o: Fields, shape: Shape): boolean {
  if (o.toJSON !== undefined) return false;
  const fields = shape.fields;
  let f = 0;
  let open = false;
  for (const k in o) {
    if (!hasOwn(o, k)) return false;
    while (f < fields.length && fields[f] !== k) f++;
    if (f === fields.length) return false;
    const v = o[k];
    if (v === undefined) {
      f++;
      continue;
    }
    const type = typeof v;
    if (type !== 'string' && type !== 'number' && type !== 'boolean') {
      const inner = shape.nested?.[f];
      if (inner === undefined || type !== 'object' || v === null) return false;
    }
    ascii(open ? ',' : '{');
    open = true;
    bytes(shape.prefixes[f]!);
    if (type !== 'object') plainValue(v as string | number | boolean);
    else if (!shaped(v as Fields, shape.nested![f]!)) return false;
    f++;
  }
  ascii(open ? '}' : '{}');
  return true;
}

/**
 * The `http` block an instrumentation recorded (model/entity.ts HttpFacts), as JSON.stringify writes
 * `facts.toData()`: no shape to check, as the class is the agent's own. Values of a type the
 * constructor does not take (possible only from plain JavaScript) go through toData instead.
 */
function httpFacts(f: HttpFacts): void {
  if (!plain(f.method) || !plain(f.url) || !plain(f.user_agent) || !plain(f.client_ip) || !plain(f.x_forwarded_for) || !plain(f.traced) || !plain(f.status) || !plain(f.content_length)) {
    ascii(',"http":');
    return json(f.toData());
  }
  // Constant text in as few pieces as the optional fields allow: each piece costs a call and a loop.
  ascii(',"http":{"request":');
  let open = factsField(false, '{"method":', ',"method":', f.method);
  open = factsField(open, '{"url":', ',"url":', f.url);
  open = factsField(open, '{"user_agent":', ',"user_agent":', f.user_agent);
  open = factsField(open, '{"client_ip":', ',"client_ip":', f.client_ip);
  open = factsField(open, '{"x_forwarded_for":', ',"x_forwarded_for":', f.x_forwarded_for);
  open = factsField(open, '{"traced":', ',"traced":', f.traced);
  if (!f.responded) return ascii(open ? '}}' : '{}}');
  ascii(open ? '},"response":' : '{},"response":');
  open = factsField(false, '{"status":', ',"status":', f.status);
  open = factsField(open, '{"content_length":', ',"content_length":', f.content_length);
  ascii(open ? '}}' : '{}}');
}

/** A value the writers below take: string, number, boolean or undefined. */
function plain(v: unknown): boolean {
  const type = typeof v;
  return type === 'string' || type === 'number' || type === 'boolean' || type === 'undefined';
}

/** One field of an object whose fields are all plain(), unless undefined: `{"key":` or `,"key":`, then the value. Whether the object is open now. */
function factsField(open: boolean, first: string, next: string, v: string | number | boolean | undefined): boolean {
  if (v === undefined) return open;
  ascii(open ? next : first);
  plainValue(v);
  return true;
}

function isSegment(e: Entity): e is Segment {
  return e.segment === e;
}

function entity(e: Entity): void {
  ascii('{"name":');
  str(e.name);
  ascii(',"id":');
  str(e.id);
  if (isSegment(e)) {
    ascii(',"trace_id":');
    str(e.trace_id);
    ascii(',"start_time":');
    time(e.start_time);
    if (e.parent_id !== undefined) {
      ascii(',"parent_id":');
      str(e.parent_id);
    }
    jsonField(',"origin":', e.origin);
    jsonField(',"user":', e.user);
    if (e.service !== undefined) {
      ascii(',"service":');
      sharedBlock(e.service);
    }
  } else {
    const sub = e as Subsegment;
    ascii(',"start_time":');
    time(sub.start_time);
    if (sub.independent) {
      ascii(',"type":"subsegment","trace_id":');
      str(sub.segment.trace_id);
      ascii(',"parent_id":');
      str(sub.parent.id);
    }
    if (sub.traced) ascii(',"traced":true');
  }
  if (e.end_time !== undefined) {
    ascii(',"end_time":');
    time(e.end_time);
  } else {
    ascii(',"in_progress":true');
  }
  if (e.namespace !== undefined) {
    ascii(',"namespace":');
    str(e.namespace);
  }
  if (e.httpFacts !== undefined) {
    httpFacts(e.httpFacts);
  } else if (e.httpObject !== undefined) {
    ascii(',"http":');
    httpBlock(e.httpObject);
  }
  if (e.aws !== undefined) {
    ascii(',"aws":');
    sharedBlock(e.aws);
  }
  jsonField(',"sql":', e.sql);
  jsonField(',"annotations":', e.annotations);
  jsonField(',"metadata":', e.metadata);
  if (e.error) ascii(',"error":true');
  if (e.throttle) ascii(',"throttle":true');
  if (e.fault) ascii(',"fault":true');
  jsonField(',"cause":', e.cause);
  const children = e.subsegments;
  if (children !== undefined && children.length > 0) {
    ascii(',"subsegments":[');
    entity(children[0]!);
    for (let i = 1; i < children.length; i++) {
      ascii(',');
      entity(children[i]!);
    }
    ascii(']');
  }
  ascii('}');
}
