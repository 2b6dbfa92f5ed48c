// agent/hooks/versions: the semver-free fast path must agree with semver wherever it answers, and
// must leave everything else to semver.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as semver from 'semver';
import { fastSatisfies, satisfiesAny } from '../../agent/hooks/versions';

const VERSIONS = [
  '0.0.0', '0.9.9', '1.0.0', '1.2.3', '2.0.0', '2.17.9', '2.18.0', '2.305.0', '2.999.999', '3.0.0', '3.1.0', '3.1.1', '3.20.0',
  '3.99.0', '3.1169.0', '4.0.0', '4.5.9', '4.6.0', '5.0.0', '5.1.0', '8.0.2', '8.0.3', '9.0.0', '10.0.0', '12.9.9', '13.0.0', '21.0.0', '21.3.4', '22.0.0',
];
const RANGES = [
  '>=1.0.0 <5', '>=10.0.0 <13', '>=2.0.0 <3', '>=2.0.0 <4', '>=2.18.0 <3', '>=2.305.0 <3', '>=3.0.0 <4', '>=3.1.1 <4', '>=3.20.0',
  '>=3.99.0 <4', '>=4.6.0 <5', '>=5.1.0 <6', '>=8.0.3 <9', '>=9.0.0 <13', '^2.0.0', '^3.0.0', '^21.0.0', '^4.0.0', '^5.0.0',
  '>=3', '<4.6', '<=4.6.0', '>3.1.0', '=3.1.1', '3.1.1', ' >=2.0.0   <3 ',
];

test('fast path agrees with semver (includePrerelease) on every range the registry uses and a few more', () => {
  for (const v of VERSIONS) {
    for (const r of RANGES) {
      const fast = fastSatisfies(v, r);
      assert.notEqual(fast, undefined, `${v} ${r} should take the fast path`);
      assert.equal(fast, semver.satisfies(v, r, { includePrerelease: true }), `${v} in ${r}`);
    }
  }
});

test('anything else falls back to semver, with the same answers', () => {
  const fallback: Array<[string, string]> = [
    ['5.0.0-beta.1', '>=4.6.0 <5'],
    ['5.0.0-beta.1', '^5.0.0'],
    ['1.2.3', '1.x'],
    ['1.2.3', '~1.2.0'],
    ['0.3.1', '^0.3.0'],
    ['1.2.3', '>=1.0.0 <2 || >=3'],
    ['v1.2.3', '>=1.0.0'],
    ['1.2.3+build', '>=1.0.0'],
    ['1.2.3', '<=1'],
    ['1.2.3', '*'],
    ['1.2.3', ''],
  ];
  for (const [v, r] of fallback) {
    assert.equal(fastSatisfies(v, r), undefined, `${v} ${r}`);
    assert.equal(satisfiesAny(v, [r]), semver.satisfies(v, r, { includePrerelease: true }), `${v} ${r}`);
  }
  assert.equal(satisfiesAny('3.1.0', ['^2.0.0', '^3.0.0']), true);
  assert.equal(satisfiesAny('4.0.0', ['^2.0.0', '^3.0.0']), false);
});
