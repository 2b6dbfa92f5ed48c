// entityJson writes exactly what JSON.stringify(entity) would (same keys, order and values),
// for every field an entity can carry, nested and independent subsegments, and shared blocks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Recorder } from '../../agent/recorder';
import { entityJson, writeEntity } from '../../agent/export/entity-json';
import { TEST_RECORDER_OPTIONS, inProcessRecorder } from '../helpers/in-process-recorder';
import { HttpFacts, type Entity, type HttpData } from '../../agent/model/entity';

function recorder(): Recorder {
  return new Recorder(
    { ...TEST_RECORDER_OPTIONS, serviceName: 'svc "quoted" ünïcode', origin: 'AWS::EC2::Instance' },
    { decide: () => ({ sampled: true, ruleName: 'Default' }) },
    { sendWritten: () => true, flush: async () => {} },
  );
}

const same = (e: Entity, label: string) => assert.equal(entityJson(e), JSON.stringify(e), label);

test('a bare segment and one with every field', () => {
  const r = recorder();
  const bare = r.startSegment({});
  same(bare, 'open segment (in_progress)');
  const seg = r.startSegment({ header: { root: '1-5759e988-bd862e3fe1be46a994272793', parent: '53995c3f42cd8ad8', sampled: '1', extra: 'Lineage=a:1' } });
  seg.setUser('u-"42"\n');
  seg.http = { request: { method: 'GET', url: 'http://h/p"\\', user_agent: 'ua\u0001', client_ip: '::1', x_forwarded_for: true }, response: { status: 503, content_length: 12 } };
  seg.addAnnotation('k', 'v"');
  seg.addAnnotation('n', 1.5);
  seg.addAnnotation('b', false);
  seg.addMetadata('cart', { items: [1, 2, { deep: 'x' }], big: 10n }, 'shop');
  seg.addError(new RangeError('bad "thing"'));
  seg.addErrorFlag();
  seg.addThrottleFlag();
  const a = seg.addNewSubsegment('child "a"')!;
  a.namespace = 'remote';
  a.traced = true;
  a.sql = { url: 'postgresql://h:5432/db', sanitized_query: 'SELECT "x" FROM t WHERE a = $1' };
  const b = a.addNewSubsegment('grandchild')!;
  b.aws = { operation: 'GetItem', table_name: 't' };
  b.close();
  a.close(new Error('child failed'));
  seg.addError(new Error('again'));
  same(seg, 'open segment with children and every field');
  seg.close();
  same(seg, 'closed segment');
  same(a, 'embedded subsegment');
  a.independent = true;
  same(a, 'independent subsegment');
});

test('shared frozen blocks are written the same every time', () => {
  const r = recorder();
  for (let i = 0; i < 3; i++) {
    const s = r.startSegment({});
    s.close();
    same(s, `segment ${i}`);
  }
});

test('a string cause (reference to an exception recorded on a child)', () => {
  const r = recorder();
  const seg = r.startSegment({});
  const sub = seg.addNewSubsegment('x')!;
  const err = new Error('propagates');
  sub.close(err);
  seg.close(err);
  assert.equal(typeof seg.cause, 'string');
  same(seg, 'segment with a string cause');
});

test('timestamps: whole microseconds are written as JSON.stringify writes them; other values go through it', () => {
  const r = recorder();
  const times = [
    1764190000.123457, 1764190000.12, 1764190000.1, 1764190000, 1764190000.000001, 1764190000.00001, 1764190000.999999,
    4102444800.5, // past 2106 in 32-bit seconds: still exact
    1764190000.1234567, // finer than a microsecond: JSON.stringify
    1.5, 0, 0.000001, -1.25, 1e21, 123.456789,
  ];
  for (const startTime of times) {
    const s = r.startSegment({ startTime });
    same(s, `start_time ${startTime}`);
    assert.equal((JSON.parse(entityJson(s)) as { start_time: number }).start_time, startTime);
  }
  // The recorder's own clock gives whole microseconds.
  const live = r.startSegment({});
  live.close();
  for (const t of [live.start_time, live.end_time!]) assert.equal(Math.round(t * 1e6) / 1e6, t);
  same(live, 'a segment on the recorder clock');
});

test('names and strings that need escaping are written as JSON.stringify writes them', () => {
  const r = recorder();
  for (const name of ['plain', 'quote " and \\ backslash', 'ünïcode名前', 'emoji 😀 pair', 'tab\tline\nbreak']) {
    const s = r.startSegment({ name });
    s.setUser(name);
    same(s, JSON.stringify(name));
  }
});

test('http blocks: the shapes the instrumentations build, and anything else an app may put there, as JSON.stringify writes them', () => {
  const r = recorder();
  const request = { method: 'GET', url: 'http://h:8080/p', user_agent: 'curl/8', client_ip: '10.0.0.1', x_forwarded_for: undefined as boolean | undefined };
  const proto = { toJSON: () => ({ replaced: true }) };
  const withGetter = { method: 'GET' } as Record<string, unknown>;
  Object.defineProperty(withGetter, 'url', { get: () => 'http://from-getter/', enumerable: true });
  Object.defineProperty(withGetter, 'user_agent', { value: 'hidden', enumerable: false });
  const blocks: Array<[string, unknown]> = [
    ['server request, no response yet', { request, response: undefined }],
    ['server request and response', { request: { ...request, x_forwarded_for: true }, response: { status: 200, content_length: 5 } }],
    ['response without content length', { request, response: { status: 304, content_length: undefined } }],
    ['client request, traced', { request: { method: 'POST', url: 'https://api/x', traced: true }, response: { status: 500, content_length: 0 } }],
    ['response only (AWS call)', { response: { status: 400 } }],
    ['empty', {}],
    ['empty request', { request: {} }],
    ['strings to escape', { request: { method: 'G"T', url: 'http://h/\u2028\ud800\\p', user_agent: 'ua\u0000\n😀', client_ip: '' } }],
    ['numbers JSON writes its own way', { response: { status: NaN, content_length: -0 } }],
    ['more numbers', { response: { status: Infinity, content_length: 1e21 } }],
    ['a fraction and a negative', { response: { status: 200.5, content_length: -1 } }],
    ['booleans', { request: { x_forwarded_for: false, traced: true } }],
    ['an unknown key', { request: { method: 'GET', extra: 1 } }],
    ['an unknown top-level key', { request, custom: { a: 1 } }],
    ['known keys out of order', { request: { url: 'http://h/', method: 'GET' } }],
    ['response before request', { response: { status: 200 }, request }],
    ['a nested object value', { request: { method: { verb: 'GET' } } }],
    ['null values', { request: null, response: { status: null } }],
    ['an array', { request: ['GET', 'http://h/'] }],
    ['a bigint (JSON.stringify throws, and so must this)', { response: { status: 10n } }],
    ['a function value, left out', { request: { method: () => 'GET', url: 'http://h/' } }],
    ['a symbol value, left out', { request: { method: Symbol('m') } }],
    ['toJSON on the block', { request, toJSON: () => 'custom' }],
    ['inherited toJSON on the request', { request: Object.assign(Object.create(proto), { method: 'GET' }) }],
    ['a prototype-less request', { request: Object.assign(Object.create(null), { method: 'GET', url: 'http://h/' }) }],
    ['an inherited enumerable field, left out', { request: Object.assign(Object.create({ url: 'http://inherited/' }), { method: 'GET' }) }],
    ['a getter and a non-enumerable key', { request: withGetter }],
  ];
  for (const [label, http] of blocks) {
    const s = r.startSegment({});
    s.http = http as Entity['http'];
    s.close();
    let expected: string | Error;
    try {
      expected = JSON.stringify(s);
    } catch (err) {
      expected = err as Error;
    }
    if (expected instanceof Error) assert.throws(() => entityJson(s), { name: expected.name }, label);
    else assert.equal(entityJson(s), expected, label);
  }
});

test('writeEntity: the exact bytes fit, one byte less does not (-1), and nothing is written at or past the limit', () => {
  const r = recorder();
  const seg = r.startSegment({ name: 'ünïcode "name" 😀' });
  seg.http = { request: { method: 'GET', url: 'http://h/ü', user_agent: 'ua' }, response: { status: 200, content_length: 5 } };
  seg.addAnnotation('k', 'v');
  seg.addMetadata('m', { deep: ['ü'] });
  const sub = seg.addNewSubsegment('child')!;
  sub.close(new Error('failed'));
  seg.close();
  const expected = Buffer.from(JSON.stringify(seg));
  const at = 7;
  const target = Buffer.alloc(at + expected.length + 16);
  for (let limit = at; limit <= at + expected.length; limit++) {
    target.fill(0xaa);
    const end = writeEntity(target, at, limit, seg);
    if (limit === at + expected.length) {
      assert.equal(end, limit, 'fits exactly');
      assert.deepEqual(target.subarray(at, end), expected);
    } else {
      assert.equal(end, -1, `does not fit into ${limit - at} bytes`);
    }
    assert.ok(target.subarray(0, at).every((b) => b === 0xaa), 'nothing before the start');
    assert.ok(target.subarray(limit).every((b) => b === 0xaa), `nothing at or past the limit (${limit - at})`);
  }
});

test('an app getter that makes another document go out while one is written: that one is dropped and counted, this one is intact', () => {
  const { recorder: r, documents } = inProcessRecorder();
  const other = r.startSegment({ name: 'other' });
  const seg = r.startSegment({ name: 'outer' });
  const request = { method: 'GET' } as Record<string, unknown>;
  Object.defineProperty(request, 'url', {
    enumerable: true,
    get: () => {
      r.serializer.emit(other); // what closing a streamed subsegment does
      return 'http://from-getter/';
    },
  });
  seg.http = { request };
  r.serializer.emit(seg);
  const docs = documents();
  assert.equal(docs.length, 1);
  assert.equal(docs[0]!.name, 'outer');
  assert.equal(docs[0]!.http.request.url, 'http://from-getter/');
  assert.equal(r.serializer.stats.dropped, 1, 'the nested one is counted as dropped');
  r.serializer.emit(other);
  assert.equal(documents()[1]!.name, 'other', 'the next write works');
});

test('http blocks an instrumentation recorded (HttpFacts) are written as JSON.stringify writes the block they stand for', () => {
  const r = recorder();
  const cases: Array<[string, HttpFacts]> = [
    ['server request, no response yet', new HttpFacts('GET', 'http://h:8080/p', 'curl/8', '10.0.0.1', undefined, undefined)],
    ['forwarded', new HttpFacts('POST', 'https://h/', undefined, '203.0.113.9', true, undefined)],
    ['client call, traced', new HttpFacts('PUT', 'http://up/x', undefined, undefined, undefined, true)],
    ['nothing known', new HttpFacts(undefined, undefined, undefined, undefined, undefined, undefined)],
    ['strings to escape', new HttpFacts('G"T', 'http://h/\u2028\ud800\\p ü', 'ua\u0000\n😀', '', undefined, undefined)],
    ['not a string (plain JavaScript caller)', new HttpFacts({ verb: 'GET' } as unknown as string, 'http://h/', undefined, undefined, undefined, undefined)],
  ];
  const responses: Array<[number, number | undefined]> = [[200, 5], [304, undefined], [NaN, -0], [200.5, 1e21]];
  for (const [label, facts] of cases) {
    for (const response of [undefined, ...responses]) {
      const s = r.startSegment({});
      const copy = Object.assign(Object.create(HttpFacts.prototype) as HttpFacts, facts);
      s.httpFacts = copy;
      if (response !== undefined) s.recordHttpResponse(response[0], response[1]);
      s.close();
      const written = entityJson(s);
      assert.equal(s.httpFacts, copy, `${label}: writing does not turn the facts into an object`);
      assert.equal(written, JSON.stringify(s), `${label}, response ${JSON.stringify(response)}`);
    }
  }
});

test('reading or setting entity.http turns recorded facts into the block, which the app may then change', () => {
  const r = recorder();
  const s = r.startSegment({});
  s.httpFacts = new HttpFacts('GET', 'http://h/secret?x', 'ua', '10.0.0.1', undefined, undefined);
  assert.equal(s.httpStatus, undefined);
  assert.equal(s.httpResponded, false);
  s.recordHttpResponse(503, 7);
  assert.equal(s.httpStatus, 503);
  assert.equal(s.httpResponded, true);
  assert.ok(s.httpFacts !== undefined, 'status reads leave the facts as they are');
  const block = s.http!;
  assert.equal(s.httpFacts, undefined, 'read: now an object');
  assert.deepEqual(JSON.parse(JSON.stringify(block)), {
    request: { method: 'GET', url: 'http://h/secret?x', user_agent: 'ua', client_ip: '10.0.0.1' },
    response: { status: 503, content_length: 7 },
  });
  block.request!.url = 'http://h/masked';
  s.recordHttpResponse(504, undefined);
  s.close();
  const doc = JSON.parse(entityJson(s)) as { http: HttpData };
  assert.equal(doc.http.request!.url, 'http://h/masked', 'the app changed the block');
  assert.equal(doc.http.response!.status, 504, 'a response recorded later goes into the block');
  assert.equal(entityJson(s), JSON.stringify(s));
  const t = r.startSegment({});
  t.httpFacts = new HttpFacts('GET', 'http://h/', undefined, undefined, undefined, undefined);
  t.http = { response: { status: 201 } };
  assert.equal(t.httpFacts, undefined, 'set: replaced');
  assert.equal(t.httpStatus, 201);
  t.close();
  assert.deepEqual((JSON.parse(entityJson(t)) as { http: HttpData }).http, { response: { status: 201 } });
});
