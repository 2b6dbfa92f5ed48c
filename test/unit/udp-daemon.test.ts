// The test daemon is what every end-to-end test trusts, so its parsing, tree assembly and
// waiting are tested here on hand-made datagrams.

import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import {
  assembleTraces,
  findSubsegments,
  parseDatagram,
  startUdpDaemon,
  type UdpDaemon,
  type XrayDocument,
} from '../helpers/udp-daemon';

const HEADER = '{"format":"json","version":1}\n';
const TRACE = '1-66575740-bd862e3fe1be46a994272793';
const TRACE2 = '1-66575741-000000000000000000000002';

const datagram = (body: unknown, header = HEADER): Buffer =>
  Buffer.from(header + (typeof body === 'string' ? body : JSON.stringify(body)));

const errorOf = (buf: Buffer): string => {
  const r = parseDatagram(buf);
  assert.ok('error' in r, `expected a rejection, got ${JSON.stringify(r)}`);
  return r.error;
};

describe('parseDatagram', () => {
  const doc = { name: 'svc', id: '70de5b6f19ff9a0a', trace_id: TRACE, start_time: 1, end_time: 2 };

  test('accepts the compact header and returns header and body', () => {
    const r = parseDatagram(datagram(doc));
    assert.ok(!('error' in r));
    assert.deepEqual(r.header, { format: 'json', version: 1 });
    assert.deepEqual(r.doc, doc);
  });

  test('accepts what the daemon accepts: spaced header, any-case format, extra keys, trailing newline', () => {
    for (const header of [
      '{"format": "json", "version": 1}\n',
      '{"format":"JSON","version":1}\n',
      '{"format":"Json","version":1,"extra":true}\n',
    ]) {
      const r = parseDatagram(datagram(doc, header));
      assert.ok(!('error' in r), header);
      assert.deepEqual(r.doc, doc);
    }
    assert.ok(!('error' in parseDatagram(Buffer.from(HEADER + JSON.stringify(doc) + '\n'))));
  });

  test('rejects a missing separator or an empty body', () => {
    assert.match(errorOf(Buffer.from(JSON.stringify(doc))), /missing header or segment/);
    assert.match(errorOf(Buffer.from(HEADER)), /missing header or segment: empty body/);
    assert.match(errorOf(Buffer.alloc(0)), /missing header or segment/);
  });

  test('rejects bad headers', () => {
    assert.match(errorOf(datagram(doc, 'format=json\n')), /invalid header: not JSON/);
    assert.match(errorOf(datagram(doc, '["json",1]\n')), /invalid header: not a JSON object/);
    assert.match(errorOf(datagram(doc, '{"format":"xml","version":1}\n')), /format must be "json"/);
    assert.match(errorOf(datagram(doc, '{"version":1}\n')), /format must be "json"/);
    assert.match(errorOf(datagram(doc, '{"format":"json","version":"1"}\n')), /version must be the number 1/);
    assert.match(errorOf(datagram(doc, '{"format":"json","version":2}\n')), /version must be the number 1/);
    assert.match(errorOf(datagram(doc, '{"format":"json"}\n')), /version must be the number 1/);
  });

  test('rejects bodies the service could not read', () => {
    assert.match(errorOf(datagram('{"name":')), /body is not valid JSON/);
    // Two documents in one datagram become one invalid string (spec §2.1).
    assert.match(errorOf(datagram(JSON.stringify(doc) + '\n' + JSON.stringify(doc))), /body is not valid JSON/);
    assert.match(errorOf(datagram([doc])), /body is not a JSON object/);
    assert.match(errorOf(datagram('"just a string"')), /body is not a JSON object/);
    assert.match(errorOf(datagram('null')), /body is not a JSON object/);
    assert.match(errorOf(Buffer.concat([Buffer.from(HEADER + '{"name":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])), /invalid UTF-8/);
  });
});

describe('assembleTraces', () => {
  // S embeds A; B (streamed) hangs under A; C (streamed) hangs under B and arrives before B;
  // D's parent is not in the trace (like Lambda's function segment). A second trace has an
  // in-progress segment later replaced by its complete version.
  const S: XrayDocument = {
    name: 'orders-api',
    id: '5000000000000001',
    trace_id: TRACE,
    start_time: 100.0,
    end_time: 101.0,
    subsegments: [{ name: 'A', id: 'a000000000000001', start_time: 100.1, end_time: 100.9, namespace: 'remote' }],
  };
  const B: XrayDocument = {
    name: 'B', id: 'b000000000000001', trace_id: TRACE, parent_id: 'a000000000000001',
    type: 'subsegment', start_time: 100.2, end_time: 100.5, namespace: 'remote',
  };
  const C: XrayDocument = {
    name: 'C', id: 'c000000000000001', trace_id: TRACE, parent_id: 'b000000000000001',
    type: 'subsegment', start_time: 100.3, end_time: 100.4, namespace: 'aws',
  };
  const C2: XrayDocument = { ...C, name: 'C2', id: 'c000000000000002', start_time: 100.25 };
  const D: XrayDocument = {
    name: 'D', id: 'd000000000000001', trace_id: TRACE, parent_id: 'ffffffffffffffff',
    type: 'subsegment', start_time: 99.5, end_time: 99.6,
  };
  const openS2: XrayDocument = { name: 'worker', id: '5000000000000002', trace_id: TRACE2, start_time: 200, in_progress: true };
  const doneS2: XrayDocument = { name: 'worker', id: '5000000000000002', trace_id: TRACE2, start_time: 200, end_time: 201 };

  test('attaches streamed subsegments two levels deep, in any arrival order', () => {
    const input = [C, openS2, S, D, B, C2, doneS2];
    const snapshot = structuredClone(input);
    const traces = assembleTraces(input);

    assert.deepEqual([...traces.keys()], [TRACE, TRACE2]);
    const roots = traces.get(TRACE)!;
    // Roots in start_time order: the orphan D started before S.
    assert.deepEqual(roots.map((r) => r.name), ['D', 'orders-api']);
    const s = roots[1]!;
    const a = s.subsegments![0]!;
    assert.equal(a.name, 'A');
    assert.deepEqual(a.subsegments!.map((x) => x.name), ['B']);
    // Children sorted by start_time: C2 (100.25) before C (100.3).
    assert.deepEqual(a.subsegments![0]!.subsegments!.map((x) => x.name), ['C2', 'C']);

    const s2 = traces.get(TRACE2)!;
    assert.equal(s2.length, 1, 'the complete document replaces the in-progress one');
    assert.equal(s2[0]!.end_time, 201);

    assert.deepEqual(input, snapshot, 'input documents are not modified');
  });

  test('an in-progress document arriving late does not replace the complete one', () => {
    const roots = assembleTraces([doneS2, openS2]).get(TRACE2)!;
    assert.equal(roots.length, 1);
    assert.equal(roots[0]!.end_time, 201);
  });

  test('a subsegment naming its own descendant as parent stays a root instead of looping', () => {
    const x: XrayDocument = { name: 'x', id: 'e000000000000001', trace_id: TRACE, type: 'subsegment', parent_id: 'e000000000000002', start_time: 1 };
    const y: XrayDocument = { name: 'y', id: 'e000000000000002', trace_id: TRACE, type: 'subsegment', parent_id: 'e000000000000001', start_time: 2 };
    const roots = assembleTraces([x, y]).get(TRACE)!;
    assert.equal(roots.length, 1);
    assert.equal(roots[0]!.name, 'y');
    assert.equal(roots[0]!.subsegments![0]!.name, 'x');
  });

  test('findSubsegments walks embedded and attached subsegments recursively', () => {
    const s = assembleTraces([S, B, C]).get(TRACE)![0]!;
    assert.deepEqual(findSubsegments(s, (x) => x.namespace === 'remote').map((x) => x.name), ['A', 'B']);
    assert.deepEqual(findSubsegments(s, () => true).map((x) => x.name), ['A', 'B', 'C']);
    assert.deepEqual(findSubsegments(S, () => true).map((x) => x.name), ['A'], 'raw document: embedded only');
  });
});

describe('startUdpDaemon', () => {
  let daemon: UdpDaemon;
  let client: dgram.Socket;
  const send = (buf: Buffer): Promise<void> =>
    new Promise((resolve, reject) => client.send(buf, daemon.port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));

  before(async () => {
    daemon = await startUdpDaemon();
    client = dgram.createSocket('udp4');
  });
  after(async () => {
    client.close();
    await daemon.close();
  });

  test('records raw datagrams, documents and rejections', async () => {
    daemon.clear();
    assert.match(daemon.address, /^127\.0\.0\.1:\d+$/);
    assert.equal(daemon.address, `127.0.0.1:${daemon.port}`);
    const seg = { name: 'svc', id: '70de5b6f19ff9a0a', trace_id: TRACE, start_time: 1, end_time: 2 };
    const sub = { name: 'sub', id: '004f72be19cddc2a', trace_id: TRACE, parent_id: seg.id, type: 'subsegment', start_time: 1.1, end_time: 1.2 };
    await send(Buffer.from('not a datagram'));
    await send(datagram(sub));
    await send(datagram(seg));
    const docs = await daemon.waitForCount(2);
    assert.deepEqual(docs, [sub, seg]);
    assert.equal(daemon.datagrams.length, 3);
    assert.equal(daemon.rejected.length, 1);
    assert.match(daemon.rejected[0]!.reason, /missing header or segment/);
    assert.equal(daemon.rejected[0]!.raw.toString(), 'not a datagram');
    assert.deepEqual(daemon.segments(), [seg]);
    assert.equal(daemon.traces().get(TRACE)![0]!.subsegments![0]!.name, 'sub');
  });

  test('waitFor resolves as soon as the predicate holds, with a snapshot', async () => {
    daemon.clear();
    const waiting = daemon.waitFor((docs) => docs.some((d) => d.name === 'second'));
    await send(datagram({ name: 'first', id: '1', trace_id: TRACE, start_time: 1 }));
    await send(datagram({ name: 'second', id: '2', trace_id: TRACE, start_time: 1 }));
    const docs = await waiting;
    assert.deepEqual(docs.map((d) => d.name), ['first', 'second']);
    daemon.clear();
    assert.equal(docs.length, 2, 'clear() does not empty an earlier snapshot');
  });

  test('waitFor timeout says how many documents arrived and shows them', async () => {
    daemon.clear();
    await send(datagram({ name: 'only-one', id: '70de5b6f19ff9a0a', trace_id: TRACE, start_time: 1, end_time: 2, fault: true }));
    await daemon.waitForCount(1);
    await send(Buffer.from('{"format":"json","version":2}\n{}'));
    await assert.rejects(
      daemon.waitFor((docs) => docs[5]!.name === 'never', 150),
      (err: Error) => {
        assert.match(err.message, /timed out after 150 ms; 1 document\(s\) arrived, 1 datagram\(s\) rejected/);
        assert.match(err.message, /\[0\] segment "only-one" id=70de5b6f19ff9a0a trace=1-66575740-bd862e3fe1be46a994272793 fault/);
        assert.match(err.message, /rejected: invalid header/);
        assert.match(err.message, /last predicate error: .*reading 'name'/);
        return true;
      },
    );
  });

  test('close() rejects pending waits', async () => {
    const other = await startUdpDaemon();
    const waiting = other.waitForCount(1, 5000);
    await other.close();
    await assert.rejects(waiting, /closed while waiting/);
    await other.close(); // idempotent
  });
});
