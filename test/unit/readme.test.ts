// The README documents every configuration key exactly as the schema defines it
// (regenerate with `npm run docs`).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { configTableMarkdown } from '../../agent/config/load';

test('README configuration table matches the schema', () => {
  const readme = readFileSync(path.join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  const start = '<!-- config-table:start -->\n';
  const a = readme.indexOf(start);
  const b = readme.indexOf('<!-- config-table:end -->');
  assert.ok(a !== -1 && b > a, 'markers present');
  assert.equal(readme.slice(a + start.length, b), configTableMarkdown(), 'run `npm run docs` to update README.md');
});
