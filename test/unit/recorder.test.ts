// The Recorder, the trace entities and the serializer together (spec §1, §2.1, §6; DESIGN §6):
// what is sent, when, in how many datagrams, and with which fields. A fake Transport collects the
// datagrams exactly as the UDP emitter would receive them; a trivial Sampler decides.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Recorder, type RecorderOptions, type Transport } from '../../agent/recorder';
import { Segment, Subsegment, type Entity } from '../../agent/model/entity';
import type { Sampler, SamplingDecision, SamplingRequest } from '../../agent/sampling/types';
import { DATAGRAM_HEADER } from '../../agent/export/serializer';
import { collectInto } from '../helpers/written-datagram';
import { log } from '../../agent/log';
import { TEST_RECORDER_OPTIONS } from '../helpers/in-process-recorder';

before(() => log.setLevel('silent'));

type Doc = Record<string, any>;

class FakeTransport implements Transport {
  readonly datagrams: string[] = [];
  flushCalls = 0;
  readonly sendWritten = collectInto(this.datagrams);
  flush(): Promise<void> {
    this.flushCalls++;
    return Promise.resolve();
  }
  /** Every datagram parsed the way the daemon + service would: header line, then one JSON body. */
  docs(): Doc[] {
    return this.datagrams.map((d) => {
      assert.ok(d.startsWith(DATAGRAM_HEADER), 'datagram starts with the header line');
      assert.equal(DATAGRAM_HEADER, '{"format":"json","version":1}\n');
      const body = d.slice(DATAGRAM_HEADER.length);
      assert.ok(!body.includes('\n'), 'exactly one document per datagram');
      const doc = JSON.parse(body) as Doc;
      assert.ok(doc !== null && typeof doc === 'object' && !Array.isArray(doc), 'a document is one object, never an array');
      return doc;
    });
  }
}

class FixedSampler implements Sampler {
  readonly requests: SamplingRequest[] = [];
  constructor(private readonly decision: SamplingDecision) {}
  decide(req: SamplingRequest): SamplingDecision {
    this.requests.push({ ...req });
    return this.decision;
  }
}


function setup(opts: Partial<RecorderOptions> = {}, decision: SamplingDecision = { sampled: true }) {
  const transport = new FakeTransport();
  const sampler = new FixedSampler(decision);
  const recorder = new Recorder({ ...TEST_RECORDER_OPTIONS, ...opts }, sampler, transport);
  return { transport, sampler, recorder };
}

function sub(parent: Entity, name: string): Subsegment {
  const s = parent.addNewSubsegment(name);
  assert.ok(s instanceof Subsegment, `subsegment ${name} created`);
  return s;
}

/** Every entity in the documents (embedded ones included), with where it was found. */
function entities(docs: Doc[]): Array<{ e: Doc; parentId: string | undefined; top: boolean; doc: Doc }> {
  const out: Array<{ e: Doc; parentId: string | undefined; top: boolean; doc: Doc }> = [];
  const walk = (e: Doc, parentId: string | undefined, top: boolean, doc: Doc) => {
    out.push({ e, parentId, top, doc });
    for (const c of (e.subsegments ?? []) as Doc[]) walk(c, e.id, false, doc);
  };
  for (const d of docs) walk(d, d.parent_id, true, d);
  return out;
}

function byName(docs: Doc[], name: string): Doc[] {
  return entities(docs)
    .filter((x) => x.e.name === name)
    .map((x) => x.e);
}

function names(list: Doc[] | undefined): string[] {
  return (list ?? []).map((d) => d.name as string);
}

const HEX16 = /^[0-9a-f]{16}$/;
const TRACE_ID = /^1-[0-9a-f]{8}-[0-9a-f]{24}$/;

// ---------------------------------------------------------------------------------------------
// When documents are sent

test('a sampled segment with nested subsegments closing after its children is sent as ONE document', () => {
  const { transport, recorder } = setup();
  const seg = recorder.startSegment({ name: 'orders' });
  const a = sub(seg, 'A');
  const a1 = sub(a, 'A1');
  const a2 = sub(a, 'A2');
  const b = sub(seg, 'B');
  a1.close();
  a2.close();
  a.close();
  b.close();
  assert.equal(transport.datagrams.length, 0, 'nothing sent while the segment is open');
  seg.close();
  assert.equal(transport.datagrams.length, 1);
  const [doc] = transport.docs();
  assert.equal(doc.name, 'orders');
  assert.equal(doc.id, seg.id);
  assert.equal(doc.trace_id, seg.trace_id);
  assert.equal(typeof doc.end_time, 'number');
  assert.equal(doc.in_progress, undefined);
  assert.deepEqual(names(doc.subsegments), ['A', 'B']);
  const docA = doc.subsegments[0];
  assert.equal(docA.id, a.id);
  assert.deepEqual(names(docA.subsegments), ['A1', 'A2']);
  assert.deepEqual(
    docA.subsegments.map((d: Doc) => d.id),
    [a1.id, a2.id],
  );
  // Embedded subsegments carry no independent-document fields.
  for (const { e, top } of entities([doc])) {
    if (top) continue;
    assert.equal(e.type, undefined);
    assert.equal(e.trace_id, undefined);
    assert.equal(e.parent_id, undefined);
    assert.equal(typeof e.end_time, 'number');
    assert.ok(e.end_time >= e.start_time);
  }
  // Nothing more is sent later.
  seg.close();
  assert.equal(transport.datagrams.length, 1);
});

test('a segment closing before its child waits, and is sent when the last child closes', () => {
  const { transport, recorder } = setup();
  const seg = recorder.startSegment({});
  const a = sub(seg, 'A');
  const a1 = sub(a, 'A1');
  const b = sub(seg, 'B');
  b.close();
  seg.close();
  assert.equal(transport.datagrams.length, 0);
  a.close();
  assert.equal(transport.datagrams.length, 0, 'A1 is still open');
  a1.close();
  assert.equal(transport.datagrams.length, 1);
  const [doc] = transport.docs();
  assert.equal(doc.id, seg.id);
  assert.equal(doc.name, 'svc', 'default name is the service name');
  assert.deepEqual(names(doc.subsegments), ['A', 'B']);
  assert.deepEqual(names(doc.subsegments[0].subsegments), ['A1']);
  for (const { e } of entities([doc])) {
    assert.equal(typeof e.end_time, 'number', `${e.name} complete`);
    assert.equal(e.in_progress, undefined);
  }
});

test('grace period: the segment is sent with the open child in progress; the child follows on its own', async () => {
  const { transport, recorder } = setup({ segmentFlushTimeoutMs: 50 });
  const seg = recorder.startSegment({});
  const open = sub(seg, 'slow');
  const done = sub(seg, 'fast');
  done.close();
  seg.close();
  await sleep(10);
  assert.equal(transport.datagrams.length, 0, 'still within the grace period');
  await sleep(120);
  assert.equal(transport.datagrams.length, 1, 'sent after the grace period');
  const [segDoc] = transport.docs();
  assert.equal(segDoc.id, seg.id);
  assert.equal(typeof segDoc.end_time, 'number');
  const [slow, fast] = segDoc.subsegments as Doc[];
  assert.equal(slow.name, 'slow');
  assert.equal(slow.in_progress, true);
  assert.equal('end_time' in slow, false);
  assert.equal(fast.name, 'fast');
  assert.equal(typeof fast.end_time, 'number');
  assert.equal('in_progress' in fast, false);

  open.close();
  assert.equal(transport.datagrams.length, 2);
  const late = transport.docs()[1];
  assert.equal(late.id, open.id);
  assert.equal(late.name, 'slow');
  assert.equal(late.type, 'subsegment');
  assert.equal(late.trace_id, seg.trace_id);
  assert.equal(late.parent_id, seg.id);
  assert.equal(typeof late.end_time, 'number');
  assert.equal('in_progress' in late, false);
  // No more documents, and no new children under the sent, closed segment.
  assert.equal(recorder.startSubsegment('after', seg), undefined);
  await sleep(60);
  assert.equal(transport.datagrams.length, 2);
});

test('grace period: an open grandchild closing later is sent alone; its closed parent is not re-sent', async () => {
  const { transport, recorder } = setup({ segmentFlushTimeoutMs: 30 });
  const seg = recorder.startSegment({});
  const a = sub(seg, 'A');
  const b = sub(a, 'B');
  a.close();
  seg.close();
  await sleep(80);
  assert.equal(transport.datagrams.length, 1);
  const [segDoc] = transport.docs();
  assert.equal(segDoc.subsegments[0].id, a.id);
  assert.equal(typeof segDoc.subsegments[0].end_time, 'number', 'A was complete when sent');
  assert.equal(segDoc.subsegments[0].subsegments[0].in_progress, true, 'B in progress');

  b.close();
  const docs = transport.docs();
  assert.equal(docs.length, 2);
  const late = docs[1];
  assert.equal(late.id, b.id, 'the late document is B itself');
  assert.equal(late.type, 'subsegment');
  assert.equal(late.parent_id, a.id);
  assert.equal(late.trace_id, seg.trace_id);
  assert.equal(typeof late.end_time, 'number');
  // A was already sent complete: exactly one complete document per entity (spec §1.1).
  const completeA = entities(docs).filter((x) => x.e.id === a.id && x.e.end_time !== undefined);
  assert.equal(completeA.length, 1, 'A complete exactly once');
});

test('grace period: deep trees closing in any order: every entity complete exactly once, linked to its parent', async () => {
  const { transport, recorder } = setup({ segmentFlushTimeoutMs: 20 });
  const seg = recorder.startSegment({});
  const a = sub(seg, 'A');
  const b = sub(a, 'B');
  const c = sub(b, 'C');
  const d = sub(b, 'D');
  const e = sub(seg, 'E');
  const f = sub(e, 'F');
  const g = sub(seg, 'G');
  const h = sub(g, 'H');
  c.close();
  f.close();
  a.close(); // closed, but B (and D) still open
  seg.close();
  await sleep(60);
  assert.equal(transport.datagrams.length, 1);
  const inProgress = entities(transport.docs())
    .filter((x) => x.e.in_progress === true)
    .map((x) => x.e.name)
    .sort();
  assert.deepEqual(inProgress, ['B', 'D', 'E', 'G', 'H']);

  g.close(); // H open
  h.close();
  e.close();
  d.close();
  b.close();
  const docs = transport.docs();
  const all = entities(docs);
  const complete = all.filter((x) => typeof x.e.end_time === 'number');
  const want = [seg, a, b, c, d, e, f, g, h];
  assert.deepEqual(complete.map((x) => x.e.id).sort(), want.map((x) => x.id).sort(), 'each entity complete exactly once');
  for (const x of complete) assert.equal(x.e.in_progress, undefined);
  const parentOf = new Map(complete.map((x) => [x.e.id as string, x.parentId]));
  for (const x of [a, b, c, d, e, f, g, h]) assert.equal(parentOf.get(x.id), x.parent.id, `${x.name} linked to ${x.parent.name}`);
  for (const x of complete) {
    if (x.top && x.e.id !== seg.id) {
      assert.equal(x.e.type, 'subsegment');
      assert.equal(x.e.trace_id, seg.trace_id);
    }
  }
  // At most one in-progress document per entity (spec §1.1).
  const ip = all.filter((x) => x.e.in_progress === true).map((x) => x.e.id);
  assert.equal(new Set(ip).size, ip.length);
});

test('early send of an over-budget tree with open children: split, then every entity complete exactly once', async () => {
  const budget = 2048;
  const { transport, recorder } = setup({ maxDatagramBytes: budget });
  const seg = recorder.startSegment({});
  const d = sub(seg, 'D'); // stays open past the send; its own document is over budget
  const pads: Subsegment[] = [];
  for (let i = 0; i < 10; i++) {
    const p = sub(d, `pad${i}`);
    p.addMetadata('m', 'x'.repeat(300));
    p.close();
    pads.push(p);
  }
  const f = sub(d, 'F');
  const g = sub(f, 'G');
  g.close();
  const e = sub(seg, 'E');
  seg.close();
  await recorder.flush(); // sends the waiting segment now, split for size
  for (const dg of transport.datagrams) assert.ok(Buffer.byteLength(dg) <= budget);
  d.close(); // F still open
  e.close();
  f.close();
  for (const dg of transport.datagrams) assert.ok(Buffer.byteLength(dg) <= budget);
  const all = entities(transport.docs());
  const complete = all.filter((x) => typeof x.e.end_time === 'number');
  const want = [seg, d, f, g, e, ...pads];
  assert.deepEqual(complete.map((x) => x.e.id).sort(), want.map((x) => x.id).sort(), 'each entity complete exactly once');
  const parentOf = new Map(complete.map((x) => [x.e.id as string, x.parentId]));
  for (const x of [d, f, g, e, ...pads]) assert.equal(parentOf.get(x.id), x.parent.id, `${x.name} linked to ${x.parent.name}`);
});

test('grace period: a subsegment created under a still-open child after the segment was sent is not lost', async () => {
  const { transport, recorder } = setup({ segmentFlushTimeoutMs: 20 });
  const seg = recorder.startSegment({});
  const a = sub(seg, 'A');
  seg.close();
  await sleep(60);
  assert.equal(transport.datagrams.length, 1);
  const c = recorder.startSubsegment('C', a);
  assert.ok(c !== undefined);
  c.close();
  a.close();
  const docs = transport.docs();
  const complete = entities(docs).filter((x) => x.e.end_time !== undefined);
  assert.deepEqual(complete.map((x) => x.e.name).sort(), ['A', 'C', 'svc']);
  const cEntry = complete.find((x) => x.e.name === 'C')!;
  assert.equal(cEntry.parentId, a.id);
  const aEntry = complete.find((x) => x.e.name === 'A')!;
  assert.equal(aEntry.top, true);
  assert.equal(aEntry.e.type, 'subsegment');
  assert.equal(aEntry.e.parent_id, seg.id);
});

test('streamingThreshold: complete subtrees beyond the threshold are streamed with correct parent ids, each entity exactly once', () => {
  const { transport, recorder } = setup({ streamingThreshold: 3 });
  const seg = recorder.startSegment({});
  const p = sub(seg, 'P');
  const g = sub(p, 'G');
  const gg = sub(g, 'GG');
  gg.close(); // 3 held: not above the threshold, GG stays embedded in G
  assert.equal(transport.datagrams.length, 0);
  const kids = ['a', 'b', 'c', 'd'].map((n) => sub(seg, n)); // 7 held
  g.close(); // G's subtree is complete, its parent P is open → streamed with GG embedded
  assert.equal(transport.datagrams.length, 1);
  const gDoc = transport.docs()[0];
  assert.equal(gDoc.id, g.id);
  assert.equal(gDoc.type, 'subsegment');
  assert.equal(gDoc.parent_id, p.id);
  assert.equal(gDoc.trace_id, seg.trace_id);
  assert.deepEqual(names(gDoc.subsegments), ['GG']);
  assert.equal(gDoc.subsegments[0].id, gg.id);
  assert.equal(gDoc.subsegments[0].type, undefined, 'GG embedded, not independent');

  for (const k of kids) k.close();
  p.close();
  seg.close();
  const docs = transport.docs();
  const streamed = docs.filter((d) => d.type === 'subsegment');
  assert.ok(streamed.length >= 2, 'more subsegments than the threshold were streamed');
  for (const d of streamed) {
    assert.equal(d.trace_id, seg.trace_id);
    if (d.id !== g.id) assert.equal(d.parent_id, seg.id, `${d.name} streamed under the segment`);
  }
  const segDocs = docs.filter((d) => d.id === seg.id);
  assert.equal(segDocs.length, 1, 'the segment sent once');
  assert.equal(segDocs[0].type, undefined);
  // The segment's document no longer holds what was streamed.
  const embeddedInSeg = entities(segDocs).map((x) => x.e.name);
  for (const d of streamed) assert.equal(embeddedInSeg.includes(d.name), false);
  const pDocs = byName(docs, 'P');
  assert.equal(pDocs.length, 1);
  assert.equal(pDocs[0].subsegments, undefined, 'P no longer holds G');

  // Every entity appears exactly once across all documents, each complete.
  const all = entities(docs);
  const ids = all.map((x) => x.e.id).sort();
  const expected = [seg, p, g, gg, ...kids].map((e) => e.id).sort();
  assert.deepEqual(ids, expected);
  for (const x of all) assert.equal(typeof x.e.end_time, 'number');
  // Parent links (embedded position or parent_id) reproduce the tree.
  const parentOf = new Map(all.map((x) => [x.e.id as string, x.parentId]));
  assert.equal(parentOf.get(p.id), seg.id);
  assert.equal(parentOf.get(g.id), p.id);
  assert.equal(parentOf.get(gg.id), g.id);
  for (const k of kids) assert.equal(parentOf.get(k.id), seg.id);
});

test('streamingThreshold: a finished child of an open subsegment is streamed as soon as the count exceeds the threshold', () => {
  const { transport, recorder } = setup({ streamingThreshold: 1 });
  const seg = recorder.startSegment({});
  const p = sub(seg, 'P');
  const x = sub(p, 'X');
  const y = sub(p, 'Y');
  x.close(); // 3 held > 1, parent P open
  assert.equal(transport.datagrams.length, 1);
  assert.equal(transport.docs()[0].id, x.id);
  assert.equal(transport.docs()[0].parent_id, p.id);
  y.close(); // 2 held > 1
  assert.equal(transport.docs()[1].id, y.id);
  assert.equal(transport.docs()[1].parent_id, p.id);
  p.close(); // 1 held: stays in the segment
  assert.equal(transport.datagrams.length, 2);
  seg.close();
  const docs = transport.docs();
  assert.equal(docs.length, 3);
  assert.equal(docs[2].id, seg.id);
  assert.deepEqual(names(docs[2].subsegments), ['P']);
  assert.equal(docs[2].subsegments[0].subsegments, undefined);
  assert.equal(entities(docs).length, 4);
});

// ---------------------------------------------------------------------------------------------
// Byte budget, splitting and shedding

test('maxDatagramBytes: many children are split into independent documents, each within budget, nothing lost', () => {
  const budget = 4096;
  const { transport, recorder } = setup({ maxDatagramBytes: budget });
  const seg = recorder.startSegment({});
  const created: Subsegment[] = [];
  for (let i = 0; i < 60; i++) {
    const c = sub(seg, `child-${i}`);
    c.addMetadata('payload', 'x'.repeat(150) + 'é'.repeat(20));
    created.push(c);
    if (i === 7) {
      // One child whose own subtree is over budget: its children go on their own too.
      for (let j = 0; j < 30; j++) {
        const gc = sub(c, `grandchild-${j}`);
        gc.addAnnotation('n', 'y'.repeat(200));
        created.push(gc);
        gc.close();
      }
    }
    c.close();
  }
  seg.close();
  assert.ok(transport.datagrams.length > 2, `split into ${transport.datagrams.length} datagrams`);
  for (const d of transport.datagrams) assert.ok(Buffer.byteLength(d) <= budget, `datagram of ${Buffer.byteLength(d)} bytes`);
  assert.ok(recorder.serializer.stats.splitForSize >= 2);
  assert.equal(recorder.serializer.stats.dropped, 0);
  assert.equal(recorder.serializer.stats.truncated, 0);

  const docs = transport.docs();
  const all = entities(docs);
  assert.deepEqual(all.map((x) => x.e.id).sort(), [seg.id, ...created.map((c) => c.id)].sort(), 'every entity exactly once');
  const parentOf = new Map(all.map((x) => [x.e.id as string, x.parentId]));
  for (const c of created) assert.equal(parentOf.get(c.id), c.parent.id, `${c.name} linked to its parent`);
  for (const x of all) {
    if (x.top && x.e.id !== seg.id) {
      assert.equal(x.e.type, 'subsegment');
      assert.equal(x.e.trace_id, seg.trace_id);
    }
    // metadata was not shed: the split alone made things fit
    if (/^child-/.test(x.e.name)) assert.equal(x.e.metadata.default.payload.length, 170);
  }
  const segDoc = docs.find((d) => d.id === seg.id)!;
  assert.equal(segDoc.type, undefined);
});

/** An error whose stack has `frames` synthetic V8 frames with long paths. */
function bigStackError(frames: number): Error {
  const err = new Error('boom');
  const lines = ['Error: boom'];
  for (let i = 0; i < frames; i++) lines.push(`    at fn${i} (/srv/app/some/rather/long/directory/name/file${i}.js:${i + 1}:7)`);
  err.stack = lines.join('\n');
  return err;
}

function bigAnnotations(e: Entity, n: number): void {
  for (let i = 0; i < n; i++) e.addAnnotation(`k${i}`, 'v'.repeat(100));
}

function bigMetadata(e: Entity): void {
  for (let i = 0; i < 4; i++) e.addMetadata(`m${i}`, 'm'.repeat(3000));
}

test('shedding: long strings are cut first, to 1 KiB; every field is kept when that is enough', () => {
  const { transport, recorder } = setup({ maxDatagramBytes: 8192, maxStackFrames: 1000 });
  const seg = recorder.startSegment({});
  bigMetadata(seg);
  seg.addAnnotation('keep', 'me');
  seg.addAnnotation('long', 'a'.repeat(3000));
  seg.sql = { sanitized_query: 'SELECT 1' };
  seg.close(bigStackError(3));
  assert.equal(transport.datagrams.length, 1);
  assert.ok(Buffer.byteLength(transport.datagrams[0]) <= 8192);
  const [doc] = transport.docs();
  assert.deepEqual(Object.keys(doc.metadata.default), ['m0', 'm1', 'm2', 'm3']);
  for (const v of Object.values(doc.metadata.default) as string[]) assert.equal(v, 'm'.repeat(1024) + '…');
  assert.deepEqual(doc.annotations, { keep: 'me', long: 'a'.repeat(1024) + '…' });
  assert.equal(doc.cause.exceptions[0].stack.length, 3, 'stack kept');
  assert.equal(doc.sql.sanitized_query, 'SELECT 1');
  assert.equal(recorder.serializer.stats.truncated, 1);
  assert.equal(recorder.serializer.stats.dropped, 0);
  assert.equal((seg.metadata!.default!.m0 as string).length, 3000, "the entity's own values are not changed");
});

test('shedding: then exception stacks (counted in truncated)', () => {
  const { transport, recorder } = setup({ maxDatagramBytes: 4096, maxStackFrames: 1000 });
  const seg = recorder.startSegment({});
  seg.addMetadata('m0', 'm'.repeat(3000));
  seg.addAnnotation('keep', 'me');
  seg.sql = { sanitized_query: 'SELECT ' + 'col, '.repeat(3000) + 'x FROM t', database_type: 'PostgreSQL' };
  seg.close(bigStackError(200));
  assert.equal(transport.datagrams.length, 1);
  assert.ok(Buffer.byteLength(transport.datagrams[0]) <= 4096);
  const [doc] = transport.docs();
  assert.equal(doc.metadata.default.m0, 'm'.repeat(1024) + '…');
  const ex = doc.cause.exceptions[0];
  assert.equal(ex.stack, undefined);
  assert.equal(ex.truncated, 200);
  assert.equal(ex.message, 'boom');
  assert.match(ex.id, HEX16);
  assert.deepEqual(doc.annotations, { keep: 'me' });
  assert.equal(doc.sql.sanitized_query.length, 1025);
  assert.ok(doc.sql.sanitized_query.startsWith('SELECT col, '));
  assert.equal(doc.sql.database_type, 'PostgreSQL');
  assert.equal(doc.fault, true);
  assert.equal(recorder.serializer.stats.truncated, 1);
});

test('shedding: then whole metadata values, largest first, one at a time; small ones and annotations stay', () => {
  const { transport, recorder } = setup({ maxDatagramBytes: 4096 });
  const seg = recorder.startSegment({});
  for (let i = 0; i < 6; i++) seg.addMetadata(`big${i}`, 'b'.repeat(900 + i * 10));
  seg.addMetadata('small', 1);
  seg.addMetadata('other', { n: 2 }, 'ns2');
  seg.addAnnotation('keep', 'me');
  seg.close();
  assert.equal(transport.datagrams.length, 1);
  assert.ok(Buffer.byteLength(transport.datagrams[0]) <= 4096);
  const [doc] = transport.docs();
  const kept = Object.keys(doc.metadata.default);
  assert.ok(kept.includes('small'));
  assert.deepEqual(doc.metadata.ns2, { other: { n: 2 } });
  const bigsKept = kept.filter((k) => k.startsWith('big'));
  assert.ok(bigsKept.length > 0 && bigsKept.length < 6, `some large values went, not all: ${bigsKept}`);
  // The largest went first: what is left are the smallest.
  assert.deepEqual(bigsKept, ['big0', 'big1', 'big2', 'big3', 'big4', 'big5'].slice(0, bigsKept.length));
  assert.deepEqual(doc.annotations, { keep: 'me' });
  assert.equal(recorder.serializer.stats.truncated, 1);
});

test('shedding: annotations go last, largest first', () => {
  const { transport, recorder } = setup({ maxDatagramBytes: 4096, maxStackFrames: 1000 });
  const seg = recorder.startSegment({});
  bigMetadata(seg);
  bigAnnotations(seg, 60);
  seg.addAnnotation('short', 1);
  seg.sql = { sanitized_query: 'q'.repeat(5000) };
  seg.close(bigStackError(200));
  assert.equal(transport.datagrams.length, 1);
  assert.ok(Buffer.byteLength(transport.datagrams[0]) <= 4096);
  const [doc] = transport.docs();
  assert.equal(doc.metadata, undefined);
  assert.equal(doc.annotations.short, 1, 'the smallest annotation stays');
  assert.ok(Object.keys(doc.annotations).length < 61);
  assert.equal(doc.cause.exceptions[0].stack, undefined);
  assert.equal(doc.sql.sanitized_query.length, 1025);
  assert.equal(doc.id, seg.id);
  assert.equal(doc.trace_id, seg.trace_id);
  assert.equal(recorder.serializer.stats.truncated, 1);
});

test('an entity that still does not fit: long strings are cut, or it is dropped and counted', () => {
  const { transport, recorder } = setup({ maxDatagramBytes: 4096 });
  // One huge URL: cut to 1 KiB + '…', then it fits.
  const seg = recorder.startSegment({});
  seg.http = { request: { method: 'GET', url: 'https://example.com/' + 'p'.repeat(100_000) }, response: { status: 200 } };
  seg.close();
  assert.equal(transport.datagrams.length, 1);
  assert.ok(Buffer.byteLength(transport.datagrams[0]) <= 4096);
  const [doc] = transport.docs();
  assert.equal(doc.http.request.url.length, 1025);
  assert.ok(doc.http.request.url.startsWith('https://example.com/ppp'));
  assert.equal(doc.http.request.method, 'GET');
  assert.equal(doc.http.response.status, 200);
  assert.equal(recorder.serializer.stats.truncated, 1);
  assert.equal(recorder.serializer.stats.dropped, 0);

  // Many large aws fields: even cut to 1 KiB each they exceed the budget → dropped, counted.
  const seg2 = recorder.startSegment({});
  const s2 = sub(seg2, 'DynamoDB');
  s2.aws = {};
  for (let i = 0; i < 10; i++) s2.aws[`field${i}`] = 'a'.repeat(5000);
  s2.close();
  seg2.close();
  const after = transport.docs().slice(1);
  assert.equal(recorder.serializer.stats.dropped, 1);
  assert.equal(after.length, 1, 'only the segment went out');
  assert.equal(after[0].id, seg2.id);
  assert.equal(after[0].subsegments, undefined);
  for (const d of transport.datagrams) assert.ok(Buffer.byteLength(d) <= 4096);
});

test('maxDatagramBytes above the UDP maximum is capped at 65,507 bytes', () => {
  const { transport, recorder } = setup({ maxDatagramBytes: 1_000_000 });
  const seg = recorder.startSegment({});
  for (let i = 0; i < 10; i++) seg.addMetadata(`m${i}`, 'z'.repeat(10_000));
  seg.close();
  assert.equal(transport.datagrams.length, 1);
  assert.ok(Buffer.byteLength(transport.datagrams[0]) <= 65507);
  // Cut to 4 KiB each, all ten fit.
  const values = Object.values(transport.docs()[0].metadata.default) as string[];
  assert.equal(values.length, 10);
  for (const v of values) assert.equal(v, 'z'.repeat(4096) + '…');
});

// ---------------------------------------------------------------------------------------------
// Sampling, limits, context missing

test('unsampled segments send nothing and create no subsegments', async () => {
  const { transport, recorder } = setup({}, { sampled: false });
  const seg = recorder.startSegment({});
  assert.equal(seg.sampled, false);
  assert.equal(seg.openSubsegment('x'), undefined);
  assert.equal(recorder.startSubsegment('y', seg), undefined);
  assert.equal(recorder.startSubsegment('z', seg, true), undefined);
  // The SDK's addNewSubsegment always gives a subsegment: here an unrecorded one, whose calls do nothing.
  const standIn = seg.addNewSubsegment('w');
  assert.equal(standIn.recorded, false);
  standIn.addAnnotation('k', 'v');
  standIn.addNewSubsegment('deeper').close();
  standIn.close(new Error('x'));
  assert.equal(standIn.annotations, undefined);
  assert.equal(seg.subsegments, undefined, 'nothing joined the tree');
  assert.equal(seg.openChildren, 0);
  seg.addAnnotation('a', 1);
  assert.equal(seg.annotations, undefined, 'an unsampled segment keeps nothing');
  seg.close();
  await recorder.flush();
  assert.equal(transport.datagrams.length, 0);
  assert.equal(recorder.stats.segmentsStarted, 1);
  assert.equal(recorder.stats.segmentsSampled, 0);
  assert.equal(recorder.stats.subsegmentsDroppedLimit, 0);
  // The unsampled segment still has real ids to propagate (spec §1.4).
  assert.match(seg.id, HEX16);
  assert.match(seg.trace_id, TRACE_ID);
});

test('maxSubsegmentsPerSegment caps subsegments per segment (nested ones count) and counts the rest', () => {
  const { transport, recorder } = setup({ maxSubsegmentsPerSegment: 3 });
  const seg = recorder.startSegment({});
  const a = sub(seg, 'a');
  const b = sub(a, 'b');
  const c = sub(seg, 'c');
  assert.equal(seg.openSubsegment('d'), undefined);
  assert.equal(b.openSubsegment('e'), undefined);
  assert.equal(recorder.startSubsegment('f', seg), undefined);
  assert.equal(recorder.stats.subsegmentsDroppedLimit, 3);
  // Past the cap, the SDK's addNewSubsegment gives an unrecorded stand-in: the app's calls on it do nothing.
  const over = seg.addNewSubsegment('g');
  assert.equal(over.recorded, false);
  over.addMetadata('m', 1);
  over.close();
  assert.equal(recorder.stats.subsegmentsDroppedLimit, 4);
  b.close();
  a.close();
  c.close();
  seg.close();
  const docs = transport.docs();
  assert.equal(docs.length, 1);
  assert.deepEqual(entities(docs).map((x) => x.e.name).sort(), ['a', 'b', 'c', 'svc']);
  // The cap is per segment: another segment starts afresh.
  const seg2 = recorder.startSegment({});
  assert.ok(seg2.addNewSubsegment('fresh') !== undefined);
});

test('maxOpenSegments also bounds finished segments waiting for open subsegments: the oldest is sent at once, its child in progress, then on its own', () => {
  const { transport, recorder } = setup({ maxOpenSegments: 2, segmentFlushTimeoutMs: 60_000 });
  const trees = [1, 2, 3].map((i) => {
    const seg = recorder.startSegment({ name: `seg${i}` });
    const child = sub(seg, `open${i}`);
    seg.close();
    return { seg, child };
  });
  // Two may wait; the third's arrival sent the first.
  assert.deepEqual(transport.docs().map((d) => d.name), ['seg1']);
  assert.equal(transport.docs()[0].subsegments[0].in_progress, true);
  assert.equal(recorder.stats.segmentsSentWaitLimit, 1);
  for (const { child } of trees) child.close();
  const docs = transport.docs();
  // Each entity exactly once complete: open1 on its own, seg2 and seg3 with their children.
  const complete = entities(docs).filter((x) => x.e.in_progress !== true).map((x) => x.e.name).sort();
  assert.deepEqual(complete, ['open1', 'open2', 'open3', 'seg1', 'seg2', 'seg3']);
  const open1 = docs.find((d) => d.name === 'open1')!;
  assert.equal(open1.type, 'subsegment');
  assert.equal(open1.parent_id, trees[0]!.seg.id);
  assert.equal(recorder.hasWaiting, false);
});

test('maxOpenSegments: excess segments are unsampled and counted; closing one frees a slot', () => {
  const { transport, recorder } = setup({ maxOpenSegments: 2 });
  const s1 = recorder.startSegment({});
  const s2 = recorder.startSegment({});
  const s3 = recorder.startSegment({});
  assert.equal(s1.sampled, true);
  assert.equal(s2.sampled, true);
  assert.equal(s3.sampled, false);
  assert.equal(s3.openSubsegment('x'), undefined);
  assert.equal(recorder.stats.segmentsDroppedOpenLimit, 1);
  assert.equal(recorder.stats.segmentsSampled, 2);
  // Upstream Sampled=1 does not bypass the cap.
  const s4 = recorder.startSegment({ header: { root: '1-5759e988-bd862e3fe1be46a994272793', sampled: '1', extra: '' } });
  assert.equal(s4.sampled, false);
  assert.equal(recorder.stats.segmentsDroppedOpenLimit, 2);
  s3.close();
  s4.close();
  s1.close();
  const s5 = recorder.startSegment({});
  assert.equal(s5.sampled, true);
  s2.close();
  s5.close();
  assert.deepEqual(
    transport.docs().map((d) => d.id),
    [s1.id, s2.id, s5.id],
  );
});

test('startSegment honours the upstream Sampled=1 / Sampled=0 and asks the sampler otherwise', () => {
  const root = '1-5759e988-bd862e3fe1be46a994272793';
  const parent = '53995c3f42cd8ad8';
  {
    const { transport, sampler, recorder } = setup({}, { sampled: false });
    const seg = recorder.startSegment({ header: { root, parent, sampled: '1', extra: 'Lineage=a:1' } });
    assert.equal(sampler.requests.length, 0, 'sampler not consulted');
    assert.equal(seg.sampled, true);
    assert.equal(seg.trace_id, root);
    assert.equal(seg.parent_id, parent);
    assert.equal(seg.headerExtra, 'Lineage=a:1');
    seg.close();
    const [doc] = transport.docs();
    assert.equal(doc.trace_id, root);
    assert.equal(doc.parent_id, parent);
    assert.equal(doc.aws.xray.sampling_rule_name, undefined);
  }
  {
    const { transport, sampler, recorder } = setup({}, { sampled: true });
    const seg = recorder.startSegment({ header: { root, parent, sampled: '0', extra: '' } });
    assert.equal(sampler.requests.length, 0, 'sampler not consulted');
    assert.equal(seg.sampled, false);
    assert.equal(seg.trace_id, root);
    seg.close();
    assert.equal(transport.datagrams.length, 0);
  }
  {
    const { transport, sampler, recorder } = setup({ origin: 'AWS::EC2::Instance' }, { sampled: true, ruleName: 'checkout' });
    const seg = recorder.startSegment({
      name: 'api',
      header: { root, sampled: '?', extra: '' },
      sampling: { host: 'shop.example.com', method: 'POST', urlPath: '/cart' },
    });
    assert.deepEqual(sampler.requests, [
      { host: 'shop.example.com', method: 'POST', urlPath: '/cart', serviceName: 'svc', serviceType: 'AWS::EC2::Instance' },
    ]);
    assert.equal(seg.trace_id, root, 'the upstream root is kept even when we decide');
    assert.equal(seg.parent_id, undefined);
    seg.close();
    const [doc] = transport.docs();
    assert.equal(doc.origin, 'AWS::EC2::Instance');
    assert.equal(doc.aws.xray.sampling_rule_name, 'checkout');
    assert.equal(doc.aws.xray.rule_name, 'checkout');
    assert.equal(doc.aws.xray.sdk, 'X-Ray for Node.js');
    assert.equal(doc.aws.xray.auto_instrumentation, true);
    assert.equal(doc.aws.xray.agent, '@xray/agent');
    assert.equal(typeof doc.aws.xray.sdk_version, 'string');
    assert.equal(doc.parent_id, undefined);
  }
  {
    const { transport, sampler, recorder } = setup({}, { sampled: true });
    const seg = recorder.startSegment({});
    assert.equal(sampler.requests.length, 1);
    assert.deepEqual(sampler.requests[0], { serviceName: 'svc' });
    seg.close();
    const [doc] = transport.docs();
    assert.equal('sampling_rule_name' in doc.aws.xray, false);
    assert.equal('rule_name' in doc.aws.xray, false);
    assert.equal(doc.origin, undefined);
    // Two segments with no rule share the same xray block values but each document is complete.
    const seg2 = recorder.startSegment({});
    seg2.close();
    assert.deepEqual(transport.docs()[1].aws, doc.aws);
    assert.notEqual(transport.docs()[1].trace_id, doc.trace_id, 'a new trace id per segment without header');
  }
  {
    const { sampler, recorder } = setup({}, { sampled: false });
    const seg = recorder.startSegment({});
    assert.equal(sampler.requests.length, 1);
    assert.equal(seg.sampled, false);
  }
});

test('contextMissing: RUNTIME_ERROR throws for manual calls only; LOG_ERROR and IGNORE_ERROR return undefined', () => {
  {
    const { recorder } = setup({ contextMissing: 'RUNTIME_ERROR' });
    assert.throws(() => recorder.startSubsegment('manual', undefined, true), /RUNTIME_ERROR/);
    assert.equal(recorder.startSubsegment('auto', undefined, false), undefined);
    assert.doesNotThrow(() => recorder.startSubsegment('auto'));
    assert.equal(recorder.stats.contextMissing, 3);
  }
  for (const strategy of ['LOG_ERROR', 'IGNORE_ERROR'] as const) {
    const { recorder, transport } = setup({ contextMissing: strategy });
    assert.equal(recorder.startSubsegment('manual', undefined, true), undefined);
    assert.equal(recorder.startSubsegment('auto', undefined, false), undefined);
    assert.equal(recorder.stats.contextMissing, 2);
    assert.equal(transport.datagrams.length, 0);
  }
});

test('contextMissing LOG_ERROR: one error line, not one per call (counted in stats)', (t) => {
  const errors = t.mock.method(log, 'error', () => {});
  const { recorder } = setup({ contextMissing: 'LOG_ERROR' });
  for (let i = 0; i < 50; i++) recorder.startSubsegment(`call ${i}`);
  assert.equal(recorder.stats.contextMissing, 50);
  assert.equal(errors.mock.callCount(), 1);
  assert.match(String(errors.mock.calls[0].arguments[0]), /no active segment for subsegment "call 0"/);
});

test('flush() sends segments still waiting for open children, then flushes the transport', async () => {
  const { transport, recorder } = setup();
  const seg = recorder.startSegment({});
  const open = sub(seg, 'open');
  seg.close();
  assert.equal(recorder.hasWaiting, true);
  assert.equal(transport.datagrams.length, 0);
  await recorder.flush();
  assert.equal(transport.flushCalls, 1);
  assert.equal(recorder.hasWaiting, false);
  assert.equal(transport.datagrams.length, 1);
  const [doc] = transport.docs();
  assert.equal(doc.id, seg.id);
  assert.equal(doc.subsegments[0].in_progress, true);
  open.close();
  assert.equal(transport.datagrams.length, 2);
  const late = transport.docs()[1];
  assert.equal(late.id, open.id);
  assert.equal(late.type, 'subsegment');
  assert.equal(late.parent_id, seg.id);
  await recorder.flush();
  assert.equal(transport.datagrams.length, 2, 'nothing sent twice');
});

test('a new trace id carries the second its segment started in (spec §1.4)', () => {
  const { recorder } = setup();
  const seg = recorder.startSegment({});
  assert.match(seg.trace_id, /^1-[0-9a-f]{8}-[0-9a-f]{24}$/);
  assert.equal(parseInt(seg.trace_id.slice(2, 10), 16), Math.floor(seg.start_time));
  const past = recorder.startSegment({ startTime: 1_500_000_000.25 });
  assert.equal(past.trace_id.slice(2, 10), (1_500_000_000).toString(16));
});

test('sendAtTurnEnd: complete segments of one turn are serialized together when the turn ends, with what they held', async () => {
  const { transport, recorder } = setup({ sendAtTurnEnd: true });
  const a = recorder.startSegment({ name: 'a' });
  sub(a, 'a-child').close();
  const b = recorder.startSegment({ name: 'b' });
  a.close();
  b.close();
  assert.equal(transport.datagrams.length, 0, 'nothing serialized inside the turn');
  assert.equal(recorder.hasWaiting, true);
  // Sent already, as far as the recorder is concerned: nothing new can start under it.
  assert.equal(recorder.startSubsegment('too-late', a), undefined);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(
    transport.docs().map((d) => [d.name, (d.subsegments ?? []).map((s: Doc) => s.name)]),
    [['a', ['a-child']], ['b', []]],
  );
  assert.equal(recorder.hasWaiting, false);
  assert.equal(a.subsegments, undefined, 'the tree is released once serialized');
});

test('sendAtTurnEnd: flush() and sendWaiting() serialize what waits for the end of the turn at once, never twice', async () => {
  const { transport, recorder } = setup({ sendAtTurnEnd: true });
  recorder.startSegment({ name: 'a' }).close();
  await recorder.flush();
  assert.equal(transport.datagrams.length, 1, 'flush() does not wait for the turn to end');
  recorder.startSegment({ name: 'b' }).close();
  recorder.sendWaiting();
  assert.equal(transport.datagrams.length, 2, 'sendWaiting() (process exit) sends synchronously');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(transport.docs().map((d) => d.name), ['a', 'b']);
});

test('sendAtTurnEnd: a segment still waiting for children is sent as before, when its last child closes', () => {
  const { transport, recorder } = setup({ sendAtTurnEnd: true });
  const seg = recorder.startSegment({});
  const child = sub(seg, 'child');
  seg.close();
  child.close();
  // Complete only now, at the child's close: it waits for the end of the turn like any other.
  assert.equal(transport.datagrams.length, 0);
  recorder.sendWaiting();
  assert.equal(transport.docs()[0].subsegments[0].name, 'child');
});

// ---------------------------------------------------------------------------------------------
// Flags, errors, counters

test('applyStatus: 404 → error, 429 → error + throttle, 503 → fault, 200 → nothing', () => {
  const { recorder } = setup();
  const seg = recorder.startSegment({});
  const cases: Array<[number, { error?: true; throttle?: true; fault?: true }]> = [
    [200, {}],
    [302, {}],
    [404, { error: true }],
    [429, { error: true, throttle: true }],
    [503, { fault: true }],
  ];
  for (const [status, flags] of cases) {
    const s = sub(seg, `s${status}`);
    s.applyStatus(status);
    const j = s.toJSON();
    assert.deepEqual(
      { error: j.error, throttle: j.throttle, fault: j.fault },
      { error: flags.error, throttle: flags.throttle, fault: flags.fault },
      `status ${status}`,
    );
    for (const k of ['error', 'throttle', 'fault']) if (!(k in flags)) assert.equal(k in j, false, `${k} absent for ${status}`);
  }
});

test('addError: with a 4xx status gives a cause without fault; otherwise fault', () => {
  const { recorder } = setup();
  const seg = recorder.startSegment({});
  const s404 = sub(seg, 'notfound');
  s404.http = { response: { status: 404 } };
  s404.applyStatus(404);
  s404.addError(new Error('not found'), true);
  let j = JSON.parse(JSON.stringify(s404));
  assert.equal(j.fault, undefined);
  assert.equal(j.error, true);
  assert.equal(j.cause.exceptions[0].message, 'not found');
  assert.equal(j.cause.exceptions[0].remote, true);
  assert.equal(typeof j.cause.working_directory, 'string');

  const s500 = sub(seg, 'broken');
  s500.http = { response: { status: 500 } };
  s500.addError(new Error('down'));
  j = JSON.parse(JSON.stringify(s500));
  assert.equal(j.fault, true);
  assert.equal(j.cause.exceptions[0].message, 'down');

  const none = sub(seg, 'local');
  none.addError(new TypeError('bad'));
  j = JSON.parse(JSON.stringify(none));
  assert.equal(j.fault, true);
  assert.equal(j.error, undefined);
  assert.equal(j.cause.exceptions[0].type, 'TypeError');

  const s200 = sub(seg, 'ok-status');
  s200.http = { response: { status: 200 } };
  s200.addError('a string error');
  assert.equal(s200.fault, true);

  // Two different errors on one entity: both exceptions are kept.
  none.addError(new RangeError('second'));
  j = JSON.parse(JSON.stringify(none));
  assert.deepEqual(
    j.cause.exceptions.map((e: Doc) => e.message),
    ['bad', 'second'],
  );
});

test('the same Error on a subsegment then on its segment: the segment cause is the exception id (spec §1.11)', () => {
  const { transport, recorder } = setup();
  const seg = recorder.startSegment({});
  const s = sub(seg, 'call');
  const err = new Error('propagated');
  s.close(err);
  seg.close(err);
  const [doc] = transport.docs();
  const subDoc = doc.subsegments[0];
  assert.equal(typeof subDoc.cause, 'object');
  const exId = subDoc.cause.exceptions[0].id;
  assert.match(exId, HEX16);
  assert.equal(doc.cause, exId);
  assert.equal(doc.fault, true);
  assert.equal(subDoc.fault, true);
});

test('incrementCounter / decrementCounter hold a closed segment until released', () => {
  const { transport, recorder } = setup();
  const seg = recorder.startSegment({});
  seg.incrementCounter();
  seg.close();
  assert.equal(transport.datagrams.length, 0);
  seg.decrementCounter();
  assert.equal(transport.datagrams.length, 1);
  assert.equal(transport.docs()[0].id, seg.id);

  // Held through a subsegment too.
  const seg2 = recorder.startSegment({});
  const a = sub(seg2, 'A');
  a.incrementCounter();
  a.close();
  seg2.close();
  assert.equal(transport.datagrams.length, 1);
  a.decrementCounter();
  assert.equal(transport.datagrams.length, 2);
  const doc = transport.docs()[1];
  assert.equal(doc.id, seg2.id);
  assert.equal(doc.subsegments[0].id, a.id);
  assert.equal(typeof doc.subsegments[0].end_time, 'number');
  assert.equal(recorder.hasWaiting, false, 'the grace timer was cleared');
});

test('close() twice is harmless: same end_time, one document, counts not decremented twice', () => {
  const { transport, recorder } = setup({ maxOpenSegments: 1 });
  const seg = recorder.startSegment({});
  const a = sub(seg, 'A');
  const b = sub(seg, 'B');
  a.close();
  const end = a.end_time;
  a.close(new Error('late'));
  assert.equal(a.end_time, end);
  assert.equal(a.cause, undefined, 'a second close records nothing');
  seg.close();
  assert.equal(transport.datagrams.length, 0, 'B is still open: the second close of A did not count as B');
  b.close();
  assert.equal(transport.datagrams.length, 1);
  const segEnd = seg.end_time;
  seg.close();
  assert.equal(seg.end_time, segEnd);
  assert.equal(transport.datagrams.length, 1);
  // The open-segment count went down once: exactly one new segment fits under maxOpenSegments=1.
  assert.equal(recorder.startSegment({}).sampled, true);
  assert.equal(recorder.startSegment({}).sampled, false);
});

// ---------------------------------------------------------------------------------------------
// Document shape

function assertNoUndefined(v: unknown, path: string): void {
  if (v === null || typeof v !== 'object') return;
  const obj = typeof (v as { toJSON?: unknown }).toJSON === 'function' ? (v as { toJSON(): unknown }).toJSON() : v;
  if (obj === null || typeof obj !== 'object') return;
  for (const [k, x] of Object.entries(obj)) {
    assert.notEqual(x, undefined, `${path}.${k} is undefined`);
    assertNoUndefined(x, `${path}.${k}`);
  }
}

test('toJSON never emits undefined-valued keys; documents have the field types of spec §1.2', () => {
  const { transport, recorder } = setup({ origin: 'AWS::ECS::Container' });
  const seg = recorder.startSegment({ header: { root: '1-5759e988-bd862e3fe1be46a994272793', parent: 'abcdef0123456789', sampled: '1', extra: '' } });
  seg.http = { request: { method: 'GET', url: 'http://h/x', client_ip: '10.0.0.1' }, response: { status: 200, content_length: 12 } };
  seg.setUser('u-1');
  seg.addAnnotation('tenant', 'acme');
  seg.addAnnotation('bad key!', 'dropped');
  seg.addMetadata('cart', { items: 3, nothing: undefined, fn: () => 1 });
  const open = sub(seg, 'open');
  assertNoUndefined(open, 'open');
  const oj = open.toJSON();
  assert.equal(oj.in_progress, true);
  assert.equal('end_time' in oj, false);
  const h = sub(seg, 'downstream');
  h.namespace = 'remote';
  h.traced = true;
  h.http = { request: { method: 'POST', url: 'http://d/y', traced: true }, response: { status: 201 } };
  h.close();
  const q = sub(seg, 'db');
  q.namespace = 'remote';
  q.sql = { sanitized_query: 'SELECT 1', database_type: 'PostgreSQL' };
  q.close(new Error('oops'));
  assertNoUndefined(seg, 'segment');
  open.close();
  seg.close();
  assertNoUndefined(seg, 'segment');

  const [doc] = transport.docs();
  assert.match(doc.id, HEX16);
  assert.match(doc.trace_id, TRACE_ID);
  assert.equal(doc.trace_id.length, 35);
  assert.match(doc.parent_id, HEX16);
  assert.equal(typeof doc.name, 'string');
  assert.equal(typeof doc.start_time, 'number');
  assert.equal(typeof doc.end_time, 'number');
  assert.ok(doc.start_time > 1.5e9 && doc.start_time < 1e10, 'epoch seconds');
  assert.ok(doc.end_time >= doc.start_time);
  assert.ok(Math.abs(doc.start_time - Date.now() / 1000) < 60, 'start_time is now');
  assert.equal(doc.in_progress, undefined);
  assert.equal(doc.user, 'u-1');
  assert.equal(doc.origin, 'AWS::ECS::Container');
  assert.deepEqual(doc.service, { runtime: 'node', runtime_version: process.version });
  assert.deepEqual(doc.annotations, { tenant: 'acme' });
  assert.deepEqual(doc.metadata, { default: { cart: { items: 3 } } });
  assert.equal(doc.http.response.status, 200);
  assert.equal(typeof doc.http.response.content_length, 'number');
  assert.equal(doc.error, undefined);
  assert.equal(doc.fault, undefined);
  assert.equal(doc.cause, undefined);
  assert.equal(doc.namespace, undefined);
  const ids = new Set<string>();
  for (const { e } of entities([doc])) {
    assert.match(e.id, HEX16);
    assert.ok(!ids.has(e.id), 'ids unique');
    ids.add(e.id);
    assert.equal(typeof e.start_time, 'number');
    assert.equal(typeof e.end_time, 'number');
    for (const flag of ['error', 'throttle', 'fault', 'in_progress']) {
      if (flag in e) assert.equal(e[flag], true, `${flag} is only ever written as true`);
    }
  }
  const [docOpen, docH, docQ] = doc.subsegments as Doc[];
  assert.equal(docOpen.name, 'open');
  assert.equal(docOpen.namespace, undefined);
  assert.equal(docH.namespace, 'remote');
  assert.equal(docH.traced, true);
  assert.equal(docH.http.request.traced, true);
  assert.equal(docQ.fault, true);
  assert.match(docQ.cause.exceptions[0].id, HEX16);
  assert.ok(Array.isArray(docQ.cause.exceptions[0].stack));
  for (const f of docQ.cause.exceptions[0].stack) {
    assert.equal(typeof f.path, 'string');
    assert.equal(typeof f.label, 'string');
    if ('line' in f) assert.equal(typeof f.line, 'number');
  }
  assert.equal(seg instanceof Segment, true);
});

test('close(false), close(0) and close("") record no error, as in aws-xray-sdk-core; an annotation key __proto__ is kept as a key', () => {
  const { transport, recorder } = setup();
  const seg = recorder.startSegment({});
  for (const falsy of [false, 0, '']) sub(seg, `closed-${String(falsy)}`).close(falsy);
  seg.addAnnotation('__proto__', 'kept');
  seg.addAnnotation('plain', 1);
  seg.close();
  const [doc] = transport.docs();
  for (const s of doc.subsegments as Doc[]) {
    assert.equal(s.fault, undefined, s.name);
    assert.equal(s.cause, undefined, s.name);
  }
  assert.deepEqual(Object.entries(doc.annotations), [['__proto__', 'kept'], ['plain', 1]]);
});
