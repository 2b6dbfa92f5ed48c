// Turns an entity tree into datagrams that each fit the byte budget (spec §2.1, DESIGN §6.19):
// 1. the whole tree in one document when it fits (the common case: one JSON.stringify);
// 2. otherwise its child subtrees go out as independent subsegments, then the slimmer parent;
// 3. a single entity that still does not fit sheds its largest optional fields (metadata, stack
//    frames, SQL text, annotations) before, as a last resort, being dropped — counted, logged once.

import type { Entity, Subsegment } from '../model/entity';
import { entityJson } from './entity-json';
import { log } from '../log';

export const DATAGRAM_HEADER = '{"format":"json","version":1}\n';

/** The OS refuses larger IPv4 UDP payloads (spec §2.1); no configuration may exceed it. */
export const MAX_UDP_PAYLOAD = 65507;

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
    private readonly send: (datagram: string) => void,
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

  private fits(datagram: string): boolean {
    // A UTF-16 unit is at most 3 UTF-8 bytes: short strings need no byte count at all.
    return datagram.length * 3 <= this.maxBytes || Buffer.byteLength(datagram) <= this.maxBytes;
  }

  private emitTree(entity: Entity): void {
    const datagram = DATAGRAM_HEADER + entityJson(entity);
    if (this.fits(datagram)) {
      this.send(datagram);
      return;
    }
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

  /** One childless entity over budget: shed fields in the order of spec §2.1 rule 2. */
  private emitShed(entity: Entity): void {
    const doc: Record<string, unknown> = { ...entity.toJSON() };
    const steps: Array<() => boolean> = [
      () => drop(doc, 'metadata'),
      () => shedStacks(doc),
      () => shedSql(doc),
      () => drop(doc, 'annotations'),
      () => shedLongStrings(doc),
    ];
    for (const step of steps) {
      if (!step()) continue;
      const datagram = DATAGRAM_HEADER + JSON.stringify(doc);
      if (this.fits(datagram)) {
        this.stats.truncated++;
        log.once('serializer.truncated', 'warn', 'an X-Ray document exceeded the datagram budget; large fields were cut (counted)', {
          maxDatagramBytes: this.maxBytes,
          name: entity.name,
        });
        this.send(datagram);
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

function drop(doc: Record<string, unknown>, key: string): boolean {
  if (doc[key] === undefined) return false;
  delete doc[key];
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

function shedSql(doc: Record<string, unknown>): boolean {
  const sql = doc.sql as Record<string, unknown> | undefined;
  if (sql === undefined || typeof sql.sanitized_query !== 'string') return false;
  doc.sql = { ...sql, sanitized_query: sql.sanitized_query.slice(0, 1024) + '…' };
  return true;
}

/** Last resort: cut every string longer than 1 KiB anywhere in the document. */
function shedLongStrings(doc: Record<string, unknown>): boolean {
  let changed = false;
  const cut = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') {
      if (v.length <= 1024) return v;
      changed = true;
      return v.slice(0, 1024) + '…';
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
