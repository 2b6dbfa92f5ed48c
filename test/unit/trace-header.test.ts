// X-Amzn-Trace-Id parsing (spec §3.3) and formatting (§3.4, §3.5).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatResponseHeader, formatTraceHeader, parseTraceHeader } from '../../agent/model/trace-header';
import { isTraceId } from '../../agent/model/ids';

const ROOT = '1-5759e988-bd862e3fe1be46a994272793';
const PARENT = '53995c3f42cd8ad8';

test('parses the canonical header', () => {
  assert.deepEqual(parseTraceHeader(`Root=${ROOT};Parent=${PARENT};Sampled=1`), {
    root: ROOT,
    parent: PARENT,
    sampled: '1',
    extra: '',
  });
});

test('the canonical fast path and the general scanner agree', () => {
  const headers = [
    `Root=${ROOT};Parent=${PARENT};Sampled=1`,
    `Root=${ROOT};Parent=${PARENT};Sampled=0`,
    `Root=${ROOT};Parent=${PARENT};Sampled=?`,
    `Root=${ROOT};Parent=${PARENT};Sampled=1;Lineage=a87bd80c:1|68fd508a:5`,
    `Root=${ROOT};Parent=${PARENT};Sampled=1;Root=1-00000001-000000000000000000000001;Sampled=0;X=y`,
    `Root=${ROOT};Parent=${PARENT};Sampled=1;`,
    `Root=${ROOT};Parent=${PARENT};Sampled=1,Root=1-00000001-000000000000000000000001`,
    `Root=${ROOT};Parent=${PARENT};Sampled=1;Self=x;A=b,C=d`,
    `Root=${ROOT};Parent=${PARENT};Sampled=10`,
    `Root=${ROOT};Parent=${PARENT};Sampled=1 ;B=c`,
  ];
  for (const h of headers) {
    // a leading space keeps the header off the fast path
    assert.deepEqual(parseTraceHeader(h), parseTraceHeader(' ' + h), h);
  }
  assert.deepEqual(parseTraceHeader(headers[4]), { root: ROOT, parent: PARENT, sampled: '1', extra: 'X=y' });
  assert.equal(parseTraceHeader(headers[8])?.sampled, undefined);
});

test('Sampled: 1, 0 and ? are kept; anything else is "no decision"', () => {
  assert.equal(parseTraceHeader(`Root=${ROOT};Sampled=0`)?.sampled, '0');
  assert.equal(parseTraceHeader(`Root=${ROOT};Sampled=?`)?.sampled, '?');
  for (const v of ['', 'true', 'yes', '2', '11', ' ', '1?']) {
    const h = parseTraceHeader(`Root=${ROOT};Sampled=${v}`);
    assert.ok(h);
    assert.equal(h.sampled, undefined, `Sampled=${v}`);
  }
  assert.equal(parseTraceHeader(`Root=${ROOT}`)?.sampled, undefined);
});

test('keys are case-insensitive; keys and values are trimmed; ids are lower-cased', () => {
  const h = parseTraceHeader(`  root = ${ROOT.toUpperCase()} ;  PARENT=${PARENT.toUpperCase()} ; sAmPlEd= 1 `);
  assert.deepEqual(h, { root: ROOT, parent: PARENT, sampled: '1', extra: '' });
});

test('Self is dropped, other pairs pass through in order', () => {
  const h = parseTraceHeader(
    `Self=1-67891234-12456789abcdef012345678;Root=${ROOT};Lineage=a87bd80c:1|68fd508a:5;Parent=${PARENT};Foo=bar=baz;Sampled=1`,
  );
  assert.deepEqual(h, { root: ROOT, parent: PARENT, sampled: '1', extra: 'Lineage=a87bd80c:1|68fd508a:5;Foo=bar=baz' });
  // `self` in any case too
  assert.equal(parseTraceHeader(`SELF=x;Root=${ROOT}`)?.extra, '');
});

test('empty parts, trailing semicolons and parts without = are skipped, not fatal', () => {
  const h = parseTraceHeader(`;;Root=${ROOT};;junk; ;Parent=${PARENT};Sampled=1;`);
  assert.deepEqual(h, { root: ROOT, parent: PARENT, sampled: '1', extra: '' });
  assert.equal(parseTraceHeader(`Root=${ROOT};=value`)?.extra, '');
});

test('missing or malformed Root: the whole header is treated as absent', () => {
  for (const v of [
    `Parent=${PARENT};Sampled=1`,
    `Root=;Parent=${PARENT};Sampled=1`,
    `Root=1-5759e988-bd862e3fe1be46a99427279;Sampled=1`,
    `Root=2-5759e988-bd862e3fe1be46a994272793;Sampled=1`,
    `Root=1-ABC-xyz;Parent=${PARENT};Sampled=1`,
    `Root=1-5759e98g-bd862e3fe1be46a994272793`,
    `Root=1-5759e988-bd862e3fe1be46a994272793x`,
    `Root:${ROOT}`,
    `${ROOT}`,
    '',
    ';',
    '=',
  ]) {
    assert.equal(parseTraceHeader(v), undefined, v);
  }
});

test('a malformed Parent is ignored, the Root still counts', () => {
  for (const p of ['', '53995c3f42cd8ad', '53995c3f42cd8ad8a', 'zz995c3f42cd8ad8', '5399 5c3f42cd8ad8']) {
    const h = parseTraceHeader(`Root=${ROOT};Parent=${p};Sampled=1`);
    assert.ok(h, p);
    assert.equal(h.parent, undefined, p);
    assert.equal(h.root, ROOT);
    assert.equal(h.sampled, '1');
  }
});

test('the first occurrence of a known key wins; repeats are not passed through', () => {
  const other = '1-00000001-000000000000000000000001';
  const h = parseTraceHeader(`Root=${ROOT};Root=${other};Sampled=0;Sampled=1;Parent=${PARENT};Parent=0000000000000001`);
  assert.deepEqual(h, { root: ROOT, parent: PARENT, sampled: '0', extra: '' });
});

test('arrays: only the first value; comma-joined values: only the first', () => {
  assert.equal(parseTraceHeader([`Root=${ROOT};Sampled=1`, 'Root=1-00000001-000000000000000000000001'])?.root, ROOT);
  assert.equal(parseTraceHeader([])?.root, undefined);
  assert.equal(parseTraceHeader(['garbage', `Root=${ROOT}`]), undefined);
  const h = parseTraceHeader(`Root=${ROOT};Sampled=1,Root=1-00000001-000000000000000000000001;Sampled=0`);
  assert.deepEqual(h, { root: ROOT, parent: undefined, sampled: '1', extra: '' });
});

test('absent and non-string input', () => {
  assert.equal(parseTraceHeader(undefined), undefined);
  for (const v of [null, 42, {}, [42], [undefined], Symbol('x'), () => 1]) {
    assert.equal(parseTraceHeader(v as unknown as string), undefined);
  }
});

test('many parts without "=" are skipped and the Root after them is still found', () => {
  // Timing is measured in bench/, never asserted here; this checks the result only.
  const h = parseTraceHeader(';'.repeat(1900) + `Root=${ROOT}`);
  assert.equal(h?.root, ROOT);
  assert.equal(parseTraceHeader(';'.repeat(2040) + `Root=${ROOT}`.slice(0, 8)), undefined);
});

test('headers over 2 KiB (after taking the first value) are ignored', () => {
  const long = `Root=${ROOT};Parent=${PARENT};Sampled=1;Pad=${'x'.repeat(2100)}`;
  assert.equal(parseTraceHeader(long), undefined);
  // ...but a long tail after the first comma-separated value does not matter
  assert.equal(parseTraceHeader(`Root=${ROOT},${'x'.repeat(5000)}`)?.root, ROOT);
});

test('pass-through data is capped at 256 bytes; pairs that do not fit are dropped whole', () => {
  const a = `A=${'a'.repeat(100)}`; // 102
  const b = `B=${'b'.repeat(100)}`; // 102 -> 205 with the ';'
  const c = `C=${'c'.repeat(100)}`; // would make 308: dropped
  const d = 'D=dd'; // 4 -> 210: fits
  const h = parseTraceHeader(`Root=${ROOT};${a};${b};${c};${d}`);
  assert.ok(h);
  assert.equal(h.extra, `${a};${b};${d}`);
  assert.ok(Buffer.byteLength(h.extra) <= 256);
});

test('pass-through pairs with non-printable characters are dropped (setHeader would throw on them)', () => {
  const h = parseTraceHeader(`Root=${ROOT};Bad=a\u0001b;Lineage=x:1;Uni=\u00e9;Tab=a\tb`);
  assert.equal(h?.extra, 'Lineage=x:1');
});

test('1,000 random and malformed headers never throw and never yield an invalid root', () => {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = 'Root=Parent=Sampled=Self=Lineage=;;== ,,\t1-0123456789abcdefABCDEF-xyz?\u0000\u00e9\ud800\u{1f600}';
  const pieces = [`Root=${ROOT}`, `Parent=${PARENT}`, 'Sampled=1', 'Sampled=?', 'Self=x', 'Lineage=a:1', ';', '=', ',', ' '];
  let valid = 0;
  for (let i = 0; i < 1000; i++) {
    let s = '';
    const kind = rnd(3);
    const len = rnd(kind === 2 ? 3000 : 80);
    for (let j = 0; j < len; j++) {
      s += kind === 0 ? alphabet[rnd(alphabet.length)] : pieces[rnd(pieces.length)];
    }
    const input: string | string[] = rnd(5) === 0 ? [s, 'x'] : s;
    const h = parseTraceHeader(input);
    if (h === undefined) continue;
    valid++;
    assert.ok(h.root !== undefined && isTraceId(h.root) && h.root === h.root.toLowerCase(), h.root);
    if (h.parent !== undefined) assert.match(h.parent, /^[0-9a-f]{16}$/);
    if (h.sampled !== undefined) assert.ok(['1', '0', '?'].includes(h.sampled));
    assert.ok(h.extra.length <= 256);
    assert.match(h.extra, /^[\x20-\x7e]*$/);
    // what we parse we can always send on
    assert.doesNotThrow(() => new Headers({ 'x-amzn-trace-id': formatTraceHeader(h.root!, h.parent, true, h.extra) }));
  }
  assert.ok(valid > 50, `only ${valid} valid headers generated`);
});

test('formatTraceHeader', () => {
  assert.equal(formatTraceHeader(ROOT, PARENT, true), `Root=${ROOT};Parent=${PARENT};Sampled=1`);
  assert.equal(formatTraceHeader(ROOT, PARENT, false), `Root=${ROOT};Parent=${PARENT};Sampled=0`);
  assert.equal(formatTraceHeader(ROOT, undefined, false), `Root=${ROOT};Sampled=0`);
  assert.equal(
    formatTraceHeader(ROOT, PARENT, true, 'Lineage=a87bd80c:1|68fd508a:5'),
    `Root=${ROOT};Parent=${PARENT};Sampled=1;Lineage=a87bd80c:1|68fd508a:5`,
  );
  assert.equal(formatTraceHeader(ROOT, PARENT, true, ''), `Root=${ROOT};Parent=${PARENT};Sampled=1`);
  // never throws, even on values that are not strings
  assert.doesNotThrow(() => formatTraceHeader(Symbol('x') as unknown as string, {} as unknown as string, true, 5 as unknown as string));
});

test('format → parse round trip keeps everything', () => {
  const v = formatTraceHeader(ROOT, PARENT, true, 'Lineage=a87bd80c:1|68fd508a:5;Foo=bar');
  assert.deepEqual(parseTraceHeader(v), { root: ROOT, parent: PARENT, sampled: '1', extra: 'Lineage=a87bd80c:1|68fd508a:5;Foo=bar' });
});

test('formatResponseHeader', () => {
  assert.equal(formatResponseHeader(ROOT), `Root=${ROOT}`);
  assert.equal(formatResponseHeader(ROOT, true), `Root=${ROOT};Sampled=1`);
  assert.equal(formatResponseHeader(ROOT, false), `Root=${ROOT};Sampled=0`);
});
