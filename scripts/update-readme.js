'use strict';
// Rewrites the configuration table in README.md from the config schema (run after `npm run build`),
// so the documented keys, defaults and meanings can never drift from the code.
// test/unit/readme.test.ts fails when the README is out of date.
const fs = require('node:fs');
const path = require('node:path');
const { configTableMarkdown } = require('../dist/agent/config/load.js');

const START = '<!-- config-table:start -->';
const END = '<!-- config-table:end -->';
const file = path.join(__dirname, '..', 'README.md');
const text = fs.readFileSync(file, 'utf8');
const a = text.indexOf(START);
const b = text.indexOf(END);
if (a === -1 || b === -1 || b < a) throw new Error('README.md: config table markers not found');
fs.writeFileSync(file, text.slice(0, a + START.length) + '\n' + configTableMarkdown() + text.slice(b));
