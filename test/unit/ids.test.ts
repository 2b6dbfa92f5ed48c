// Entity and trace ids (spec §1.4): shape, randomness across pool refills, the time part.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEntityId, isTraceId, newEntityId, newTraceId } from '../../agent/model/ids';

test('entity ids are 16 lower-case hex characters', () => {
  for (let i = 0; i < 1000; i++) {
    const id = newEntityId();
    assert.match(id, /^[0-9a-f]{16}$/);
    assert.ok(isEntityId(id));
  }
});

test('ids stay unique across many pool refills', () => {
  // 4 KiB pool = 512 entity ids per fill; 50,000 ids cross ~100 refills, mixed with trace ids
  // (12 bytes each) so refills also happen at odd offsets.
  const seen = new Set<string>();
  for (let i = 0; i < 50_000; i++) {
    const id = newEntityId();
    assert.ok(!seen.has(id), `duplicate id ${id}`);
    seen.add(id);
    if (i % 7 === 0) {
      const t = newTraceId();
      const rnd = t.slice(11);
      assert.ok(!seen.has(rnd), `duplicate trace random part ${rnd}`);
      seen.add(rnd);
    }
  }
});

test('hex digits are roughly uniform (the table covers every byte)', () => {
  const counts = new Map<string, number>();
  const n = 20_000;
  for (let i = 0; i < n; i++) for (const ch of newEntityId()) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  assert.equal(counts.size, 16);
  const expected = (n * 16) / 16;
  for (const [ch, c] of counts) assert.ok(Math.abs(c - expected) < expected * 0.1, `digit ${ch}: ${c}`);
});

test('trace id: 1-<8 hex epoch seconds>-<24 hex>', () => {
  const id = newTraceId(0x58406520 * 1000 + 999);
  assert.match(id, /^1-58406520-[0-9a-f]{24}$/);
  assert.ok(isTraceId(id));

  const before = Math.floor(Date.now() / 1000);
  const now = newTraceId();
  const after = Math.floor(Date.now() / 1000);
  const sec = parseInt(now.slice(2, 10), 16);
  assert.ok(sec >= before && sec <= after);
  assert.equal(now.length, 35);
});

test('trace id time part is zero-padded and changes with the second', () => {
  assert.match(newTraceId(1000), /^1-00000001-/);
  assert.match(newTraceId(15_000), /^1-0000000f-/);
  assert.match(newTraceId(0), /^1-00000000-/);
  assert.match(newTraceId(0xffffffff * 1000), /^1-ffffffff-/);
});

test('a bad clock value falls back to the real clock instead of a malformed id', () => {
  for (const bad of [NaN, Infinity, -Infinity, -5, 'x' as unknown as number]) {
    const id = newTraceId(bad);
    assert.ok(isTraceId(id), `${String(bad)} gave ${id}`);
    const sec = parseInt(id.slice(2, 10), 16);
    assert.ok(Math.abs(sec - Date.now() / 1000) < 5);
  }
});

test('isEntityId / isTraceId accept either case and reject everything else', () => {
  assert.ok(isEntityId('53995c3f42cd8ad8'));
  assert.ok(isEntityId('53995C3F42CD8AD8'));
  for (const bad of ['', '53995c3f42cd8ad', '53995c3f42cd8ad8a', '53995c3f42cd8adg', ' 53995c3f42cd8ad8', 1234, null, undefined, {}]) {
    assert.equal(isEntityId(bad), false, String(bad));
  }
  assert.ok(isTraceId('1-5759e988-bd862e3fe1be46a994272793'));
  assert.ok(isTraceId('1-5759E988-BD862E3FE1BE46A994272793'));
  for (const bad of [
    '',
    '2-5759e988-bd862e3fe1be46a994272793',
    '1-5759e98-bd862e3fe1be46a994272793',
    '1-5759e988-bd862e3fe1be46a99427279',
    '1-5759e988-bd862e3fe1be46a99427279z',
    '1-5759e988-bd862e3fe1be46a994272793\n',
    '1_5759e988_bd862e3fe1be46a994272793',
    null,
    42,
  ]) {
    assert.equal(isTraceId(bad), false, String(bad));
  }
});
