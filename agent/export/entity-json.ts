// JSON text of an entity tree, byte for byte what JSON.stringify(entity) produces (same keys, same
// order), written directly: JSON.stringify would first build a plain object per entity through
// toJSON and then walk it. Objects the recorder shares between segments (the `service` and `aws`
// blocks, frozen) are stringified once and reused. Timestamps and plain strings are written by hand
// (V8's double-to-string and JSON.stringify of a lone string cost more). Measured with callgrind
// (single-threaded V8, so counts repeat) on a request segment's start, end, serialization and
// encoding: ~25.8k → ~23.5k instructions. A hand-written `http` block was tried too: with fresh
// strings, as the HTTP parser makes them, JSON.stringify of it costs ~0.7 µs, and a writer of the
// spec's fields alone about half that, but once it also checks for keys or types it does not know
// (to hand those to JSON.stringify) the saving shrank to ~0.2 µs: not worth a second serializer.

import type { Entity, Segment, Subsegment } from '../model/entity';

const sharedJson = new WeakMap<object, string>();

/**
 * JSON of the `service` or `aws` block: the recorder hands every segment the same frozen object
 * (never mutated), so its text is made once. A block of one entity's own (an AWS call's `aws`, a
 * segment's copy carrying its sampling rule) is not frozen and is written each time. The other
 * blocks (http, sql, annotations, metadata, cause) are always the entity's own and go straight to
 * JSON.stringify, without the frozen check (a call into V8's runtime, per block and document).
 */
function sharedBlock(v: object): string {
  let s = sharedJson.get(v);
  if (s !== undefined) return s;
  s = JSON.stringify(v);
  if (Object.isFrozen(v)) sharedJson.set(v, s);
  return s;
}

// Anything JSON.stringify would escape: quote, backslash, control characters, and surrogates (a
// lone one is written as \uXXXX; a pair is left to JSON.stringify too, rare enough in names and URLs).
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON string literal of s, as JSON.stringify(s) writes it. */
function str(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : '"' + s + '"';
}

/** PAIRS[n] = n as two digits, '00' … '99'. */
const PAIRS: string[] = [];
for (let i = 0; i < 100; i++) PAIRS.push((i < 10 ? '0' : '') + i);

/**
 * An epoch-seconds timestamp as JSON.stringify(t) writes it. The recorder's clock gives whole
 * microseconds (nowSeconds): those are written from two integers, which is cheaper than V8's
 * shortest-form conversion of a double; any other value goes through JSON.stringify.
 * The microseconds are spelled from a table, not by number-to-string: V8 caches converted numbers in
 * a heap table, and a fresh value per timestamp kept that cache churning strings into the old
 * generation (measured: the young generation reached 32 MiB twice as fast, with 6 MiB more old
 * space). The seconds repeat for a whole second, so their conversion is cached once.
 */
function time(t: number): string {
  const micros = Math.round(t * 1e6);
  if (micros / 1e6 !== t || t < 0 || micros > Number.MAX_SAFE_INTEGER) return JSON.stringify(t);
  const sec = Math.floor(t);
  const frac = micros - sec * 1e6;
  if (frac === 0) return '' + sec;
  const six = PAIRS[Math.floor(frac / 10000)]! + PAIRS[Math.floor(frac / 100) % 100]! + PAIRS[frac % 100]!;
  // The shortest form of a whole-microsecond value: six decimals without the trailing zeros.
  let end = 6;
  while (six.charCodeAt(end - 1) === 48) end--;
  return sec + '.' + (end === 6 ? six : six.slice(0, end));
}

// The `http` block, written field by field when it has a shape the instrumentations build
// (spans/http-server.ts, spans/http-client.ts, spans/aws.ts): JSON.stringify of it was ~0.6 µs of a
// request segment's ~0.85 µs of serialization (V8 11 sets up a stringifier for every call and looks
// for toJSON on each object). The text is JSON.stringify's, byte for byte: the block's keys
// (for-in, each one its own: no array made per object) must be, in that order, among the fields of
// HTTP_SHAPE, with no toJSON, and every value a string, a number, a boolean, undefined, or (request,
// response) an object of the nested shape. Anything else (a block an app built or added to, a value
// nested deeper) goes to JSON.stringify as before.
interface Shape {
  readonly fields: readonly string[];
  /** `"field":` for each field. */
  readonly prefixes: readonly string[];
  /** The shape of an object value, by field; a field without one takes only plain values. */
  readonly nested?: readonly (Shape | undefined)[];
}

function shapeOf(fields: readonly string[], nested?: readonly (Shape | undefined)[]): Shape {
  return { fields, prefixes: fields.map((k) => JSON.stringify(k) + ':'), nested };
}

const HTTP_SHAPE = shapeOf(
  ['request', 'response'],
  [shapeOf(['method', 'url', 'user_agent', 'client_ip', 'x_forwarded_for', 'traced']), shapeOf(['status', 'content_length'])],
);

type Fields = Record<string, unknown> & { toJSON?: unknown };
const hasOwn = Object.hasOwn;

function httpJson(http: object): string {
  return shapedJson(http as Fields, HTTP_SHAPE) ?? JSON.stringify(http);
}

/** JSON of `o` when it has `shape` as described above; otherwise undefined. */
function shapedJson(o: Fields, shape: Shape): string | undefined {
  if (o.toJSON !== undefined) return undefined;
  const fields = shape.fields;
  let s = '';
  let f = 0;
  for (const k in o) {
    if (!hasOwn(o, k)) return undefined;
    while (f < fields.length && fields[f] !== k) f++;
    if (f === fields.length) return undefined;
    const v = o[k];
    let t: string | undefined;
    if (typeof v === 'string') t = str(v);
    else if (typeof v === 'number') t = Number.isFinite(v) ? '' + v : 'null';
    else if (typeof v === 'boolean') t = v ? 'true' : 'false';
    else if (v === undefined) {
      f++;
      continue;
    } else {
      const inner = shape.nested?.[f];
      t = inner !== undefined && typeof v === 'object' && v !== null ? shapedJson(v as Fields, inner) : undefined;
      if (t === undefined) return undefined;
    }
    s += (s === '' ? '{' : ',') + shape.prefixes[f] + t;
    f++;
  }
  return s === '' ? '{}' : s + '}';
}

function isSegment(e: Entity): e is Segment {
  return e.segment === e;
}

export function entityJson(e: Entity): string {
  let s = '{"name":' + str(e.name) + ',"id":"' + e.id + '"';
  if (isSegment(e)) {
    s += ',"trace_id":"' + e.trace_id + '","start_time":' + time(e.start_time);
    if (e.parent_id !== undefined) s += ',"parent_id":"' + e.parent_id + '"';
    if (e.origin !== undefined) s += ',"origin":' + JSON.stringify(e.origin);
    if (e.user !== undefined) s += ',"user":' + JSON.stringify(e.user);
    if (e.service !== undefined) s += ',"service":' + sharedBlock(e.service);
  } else {
    const sub = e as Subsegment;
    s += ',"start_time":' + time(sub.start_time);
    if (sub.independent) s += ',"type":"subsegment","trace_id":"' + sub.segment.trace_id + '","parent_id":"' + sub.parent.id + '"';
    if (sub.traced) s += ',"traced":true';
  }
  if (e.end_time !== undefined) s += ',"end_time":' + time(e.end_time);
  else s += ',"in_progress":true';
  if (e.namespace !== undefined) s += ',"namespace":"' + e.namespace + '"';
  if (e.http !== undefined) s += ',"http":' + httpJson(e.http);
  if (e.aws !== undefined) s += ',"aws":' + sharedBlock(e.aws);
  if (e.sql !== undefined) s += ',"sql":' + JSON.stringify(e.sql);
  if (e.annotations !== undefined) s += ',"annotations":' + JSON.stringify(e.annotations);
  if (e.metadata !== undefined) s += ',"metadata":' + JSON.stringify(e.metadata);
  if (e.error) s += ',"error":true';
  if (e.throttle) s += ',"throttle":true';
  if (e.fault) s += ',"fault":true';
  if (e.cause !== undefined) s += ',"cause":' + JSON.stringify(e.cause);
  const children = e.subsegments;
  if (children !== undefined && children.length > 0) {
    s += ',"subsegments":[' + entityJson(children[0]);
    for (let i = 1; i < children.length; i++) s += ',' + entityJson(children[i]);
    s += ']';
  }
  return s + '}';
}
