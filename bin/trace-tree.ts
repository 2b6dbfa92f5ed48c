// Rebuilding trace trees from received documents: the one place that knows how whole segments,
// embedded subsegments and independent (streamed) subsegments fit together (spec §0.3, §1.1,
// §6). Used by the trace printer, `xray-agent listen` and the test daemon. Pure: no I/O, and the
// input documents are never modified (assembly works on deep copies).

import type { XrayDocument, XrayEntity } from './xray-document';

/** An entity after assembly: streamed children have been moved into its `subsegments`. */
export type TraceNode = XrayEntity;

/** Group key for documents that carry no `trace_id` (invalid, but they must still show up). */
export const NO_TRACE_ID = '(no trace_id)';

export interface AssembledTrace {
  /** Segments, plus independent subsegments whose parent is not in the trace (e.g. Lambda). */
  roots: TraceNode[];
  /** Nodes that arrived as their own document and were attached under a parent. */
  streamed: WeakSet<TraceNode>;
  /** Number of documents kept after replacing in-progress versions. */
  documentCount: number;
}

export function traceKey(doc: XrayDocument): string {
  return typeof doc.trace_id === 'string' && doc.trace_id !== '' ? doc.trace_id : NO_TRACE_ID;
}

/** Groups documents by trace id, keeping the order in which each trace was first seen. */
export function groupByTrace(docs: readonly XrayDocument[]): Map<string, XrayDocument[]> {
  const groups = new Map<string, XrayDocument[]>();
  for (const doc of docs) {
    const key = traceKey(doc);
    let list = groups.get(key);
    if (!list) groups.set(key, (list = []));
    list.push(doc);
  }
  return groups;
}

/** Trace id → root nodes in start_time order, each with its full subtree. */
export function assembleTraces(docs: readonly XrayDocument[]): Map<string, TraceNode[]> {
  const result = new Map<string, TraceNode[]>();
  for (const [key, group] of groupByTrace(docs)) result.set(key, assembleTrace(group).roots);
  return result;
}

/**
 * Assembles the documents of ONE trace. Rules:
 * - Documents with the same `id`: a later one replaces an earlier one (spec §1.1), except that
 *   an in-progress document never replaces a complete one (UDP may reorder them).
 * - A document with `type: "subsegment"` and a `parent_id` found anywhere in the trace (a
 *   segment, an embedded subsegment or another streamed subsegment, in any arrival order) is
 *   appended to that parent's `subsegments`. Otherwise it is a root.
 * - Segments are always roots, even when their `parent_id` names a subsegment of an upstream
 *   service in the same trace: each service's segment is its own document in X-Ray too.
 * - Every `subsegments` array, and the roots, are sorted by `start_time` (stable).
 */
export function assembleTrace(docs: readonly XrayDocument[]): AssembledTrace {
  const copies = latestById(docs).map((d) => structuredClone(d));
  const byId = new Map<string, TraceNode>();
  const parentOf = new Map<string, string>();
  for (const copy of copies) {
    walkEntities(copy, (entity, parent) => {
      if (!isId(entity.id)) return;
      if (!byId.has(entity.id)) byId.set(entity.id, entity);
      if (parent && isId(parent.id)) parentOf.set(entity.id, parent.id);
    });
  }

  const streamed = new WeakSet<TraceNode>();
  const roots: TraceNode[] = [];
  for (const copy of copies) {
    const parent = isIndependentSubsegment(copy) ? byId.get(copy.parent_id as string) : undefined;
    if (parent && parent !== copy && !createsCycle(copy.id, parent.id, parentOf)) {
      if (Array.isArray(parent.subsegments)) parent.subsegments.push(copy);
      else parent.subsegments = [copy];
      parentOf.set(copy.id, parent.id);
      streamed.add(copy);
    } else {
      roots.push(copy);
    }
  }
  sortByStart(roots);
  for (const root of roots) walkEntities(root, (e) => Array.isArray(e.subsegments) && sortByStart(e.subsegments));
  return { roots, streamed, documentCount: copies.length };
}

/**
 * An entity's name as text, whatever was received: a name that is not a string (an object whose
 * toString is not a function, say) is shown as its JSON instead of throwing.
 */
export function entityName(e: XrayEntity): string {
  return typeof e.name === 'string' ? e.name : (JSON.stringify(e.name) ?? '?');
}

export function isIndependentSubsegment(doc: XrayEntity): boolean {
  return doc.type === 'subsegment' && isId(doc.parent_id);
}

/**
 * Depth-first, pre-order walk over an entity and its embedded subsegments. Tolerates malformed
 * input (a non-array `subsegments`, non-object elements) because it runs on received data.
 */
export function walkEntities(
  root: XrayEntity,
  visit: (entity: XrayEntity, parent: XrayEntity | undefined, depth: number) => unknown,
): void {
  const step = (entity: XrayEntity, parent: XrayEntity | undefined, depth: number): void => {
    visit(entity, parent, depth);
    if (!Array.isArray(entity.subsegments)) return;
    for (const child of entity.subsegments) {
      if (typeof child === 'object' && child !== null) step(child, entity, depth + 1);
    }
  };
  step(root, undefined, 0);
}

/** Every subsegment below `doc` (not `doc` itself), at any depth, matching `predicate`. */
export function findSubsegments(doc: XrayEntity, predicate: (sub: XrayEntity) => boolean): XrayEntity[] {
  const found: XrayEntity[] = [];
  walkEntities(doc, (entity, parent) => {
    if (parent !== undefined && predicate(entity)) found.push(entity);
  });
  return found;
}

function latestById(docs: readonly XrayDocument[]): XrayDocument[] {
  const kept: XrayDocument[] = [];
  const slotOf = new Map<string, number>();
  for (const doc of docs) {
    if (!isId(doc.id)) {
      kept.push(doc);
      continue;
    }
    const slot = slotOf.get(doc.id);
    if (slot === undefined) {
      slotOf.set(doc.id, kept.length);
      kept.push(doc);
      continue;
    }
    const prev = kept[slot]!;
    if (doc.in_progress === true && prev.in_progress !== true) continue;
    kept[slot] = doc;
  }
  return kept;
}

/** True if attaching `childId` under `parentId` would make `childId` its own ancestor. */
function createsCycle(childId: string, parentId: string, parentOf: Map<string, string>): boolean {
  let cur: string | undefined = parentId;
  // Bounded: duplicate ids in bad input could already have made parentOf circular.
  for (let steps = 0; cur !== undefined && steps <= parentOf.size; steps++) {
    if (cur === childId) return true;
    cur = parentOf.get(cur);
  }
  return cur !== undefined;
}

function sortByStart(list: XrayEntity[]): void {
  // Elements are received data: a null or a number among them sorts last instead of throwing.
  const start = (e: XrayEntity): number => (e !== null && typeof e === 'object' && typeof e.start_time === 'number' ? e.start_time : Infinity);
  list.sort((a, b) => start(a) - start(b) || 0);
}

function isId(v: unknown): v is string {
  return typeof v === 'string' && v !== '';
}
