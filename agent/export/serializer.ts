// Turns an entity tree into datagrams that each fit the byte budget (spec §2.1, DESIGN §6.19):
// 1. the whole tree in one document when it fits (the common case: written once, straight into
//    the datagram's buffer);
// 2. otherwise its child subtrees go out as independent subsegments, then the slimmer parent;
// 3. a single entity that still does not fit is cut before anything of it is dropped: long strings
//    anywhere in it (metadata values, annotation values, SQL, messages, URLs) are shortened, to
//    4 KiB then to 1 KiB; then stack frames go (counted in `truncated`); then whole metadata
//    values, largest first, then annotations, largest first; as a last resort the entity is
//    dropped. Counted, logged once. (Spec §2.1 sheds metadata, stacks, SQL and annotations whole,
//    in that order: one oversized value would then take every small annotation and metadata value
//    of the entity with it.)

import type { Entity, Subsegment } from '../model/entity';
import { writeEntity } from './entity-json';
import { MAX_UDP_PAYLOAD, writeText, type DatagramWriter } from './burst-buffer';
import { log } from '../log';

export const DATAGRAM_HEADER = '{"format":"json","version":1}\n';
const HEADER_BYTES = Buffer.from(DATAGRAM_HEADER);

/** Where datagrams go: the UDP emitter, or a test's collector. */
export interface DatagramSink {
  /**
   * Queues the datagram `write` puts down from `item` in at most `limit` bytes (or drops it,
   * counted); false when it does not fit into `limit`, and nothing was sent.
   */
  sendWritten<T>(write: DatagramWriter<T>, item: T, limit: number): boolean;
}

/** The header line, then the entity's document. */
function writeEntityDatagram(buffer: Buffer, at: number, limit: number, e: Entity): number {
  if (at + HEADER_BYTES.length > limit) return -1;
  buffer.set(HEADER_BYTES, at);
  return writeEntity(buffer, at + HEADER_BYTES.length, limit, e);
}

export interface SerializerStats {
  /** Child subtrees sent on their own because the parent's document was over budget. */
  splitForSize: number;
  /** Entities sent with fields shed or cut to fit. */
  truncated: number;
  /** Entities that could not be made to fit at all. */
  dropped: number;
}

export class Serializer {
  readonly stats: SerializerStats = { splitForSize: 0, truncated: 0, dropped: 0 };
  private readonly maxBytes: number;

  constructor(
    maxDatagramBytes: number,
    private readonly sink: DatagramSink,
  ) {
    this.maxBytes = Math.min(maxDatagramBytes, MAX_UDP_PAYLOAD);
  }

  /** Emits `entity` and everything it still holds. Never throws. */
  emit(entity: Entity): void {
    try {
      this.emitTree(entity);
    } catch (err) {
      this.stats.dropped++;
      log.once('serializer.failed', 'error', 'could not serialize an X-Ray document; dropped', {
        error: String((err as Error)?.message ?? err),
      });
    }
  }

  private emitTree(entity: Entity): void {
    if (this.sink.sendWritten(writeEntityDatagram, entity, this.maxBytes)) return;
    const children = entity.subsegments;
    if (children !== undefined && children.length > 0) {
      entity.subsegments = undefined;
      this.stats.splitForSize++;
      for (const child of children) {
        (child as Subsegment).independent = true;
        this.emitTree(child);
      }
      this.emitTree(entity);
      return;
    }
    this.emitShed(entity);
  }

  /** One childless entity over budget: cut, then shed, in the order above, until it fits. */
  private emitShed(entity: Entity): void {
    const doc: Record<string, unknown> = { ...entity.toJSON() };
    // Each step changes the document a little (false: nothing left for it to do); the repeating
    // ones run again as long as the document does not fit.
    const steps: Array<[step: () => boolean, repeat: boolean]> = [
      [() => cutLongStrings(doc, 4096), false],
      [() => cutLongStrings(doc, 1024), false],
      [() => shedStacks(doc), false],
      [() => dropLargestValue(doc, 'metadata'), true],
      [() => dropLargestValue(doc, 'annotations'), true],
    ];
    for (const [step, repeat] of steps) {
      for (let again = true; again && step(); again = repeat) {
        if (!this.sink.sendWritten(writeText, DATAGRAM_HEADER + JSON.stringify(doc), this.maxBytes)) continue;
        this.stats.truncated++;
        log.once('serializer.truncated', 'warn', 'an X-Ray document exceeded the datagram budget; large fields were cut (counted)', {
          maxDatagramBytes: this.maxBytes,
          name: entity.name,
        });
        return;
      }
    }
    this.stats.dropped++;
    log.once('serializer.dropped', 'warn', 'an X-Ray document could not be made to fit the datagram budget; dropped (counted)', {
      maxDatagramBytes: this.maxBytes,
      name: entity.name,
    });
  }
}

/**
 * Removes the largest value of `doc[key]`: an annotation, or a value of a metadata namespace (and
 * the namespace when it is left empty). False when there is none left.
 */
function dropLargestValue(doc: Record<string, unknown>, key: 'metadata' | 'annotations'): boolean {
  const block = doc[key] as Record<string, unknown> | undefined | null;
  if (block === undefined || block === null) return false;
  // Values live in the block itself (annotations) or in its namespaces (metadata).
  const holders: Array<[ns: string | undefined, values: Record<string, unknown>]> =
    key === 'annotations'
      ? [[undefined, block]]
      : Object.entries(block).filter((e): e is [string, Record<string, unknown>] => e[1] !== null && typeof e[1] === 'object');
  let largest: [ns: string | undefined, name: string] | undefined;
  let largestSize = -1;
  for (const [ns, values] of holders) {
    for (const name of Object.keys(values)) {
      const size = (JSON.stringify(values[name]) ?? '').length + name.length;
      if (size > largestSize) {
        largestSize = size;
        largest = [ns, name];
      }
    }
  }
  // Copies where something is removed: the entity's own blocks stay as they are.
  const rest = { ...block };
  if (largest !== undefined) {
    const [ns, name] = largest;
    if (ns === undefined) delete rest[name];
    else {
      const values = { ...(rest[ns] as Record<string, unknown>) };
      delete values[name];
      if (Object.keys(values).length > 0) rest[ns] = values;
      else delete rest[ns];
    }
  }
  if (largest === undefined || Object.keys(rest).length === 0) delete doc[key];
  else doc[key] = rest;
  return true;
}

/** Replaces every exception's stack with nothing, recording how many frames were cut. */
function shedStacks(doc: Record<string, unknown>): boolean {
  const cause = doc.cause as { exceptions?: Array<Record<string, unknown>> } | string | undefined;
  if (cause === undefined || typeof cause === 'string' || !Array.isArray(cause.exceptions)) return false;
  doc.cause = {
    ...cause,
    exceptions: cause.exceptions.map((ex) => {
      const stack = Array.isArray(ex.stack) ? ex.stack.length : 0;
      const { stack: _omit, ...rest } = ex;
      return { ...rest, message: typeof ex.message === 'string' ? ex.message.slice(0, 1000) : ex.message, truncated: ((ex.truncated as number) ?? 0) + stack };
    }),
  };
  return true;
}

/**
 * Cuts every string longer than `max` characters anywhere in the document (to `max` and '…').
 * Builds new objects where it cuts: the entity's own values, and the app's, are never changed.
 */
function cutLongStrings(doc: Record<string, unknown>, max: number): boolean {
  let changed = false;
  const cut = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') {
      if (v.length <= max) return v;
      changed = true;
      return v.slice(0, max) + '…';
    }
    if (depth > 8 || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((x) => cut(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = cut(x, depth + 1);
    return out;
  };
  for (const [k, v] of Object.entries(doc)) doc[k] = cut(v, 0);
  return changed;
}
