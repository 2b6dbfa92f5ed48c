'use strict';
// Bundles the compiled agent (dist/agent/entry.js and all it requires) into dist/agent.js, the
// file register.js loads. tsc still emits every module to dist/ (types, unit tests); the bundle
// only saves start-up time. pino and semver stay outside: they are loaded on first use from
// node_modules.
//
// The bundle is written in ASCII only. esbuild escapes non-ASCII characters in strings and names
// but keeps the doc comments of class members as they are ("spec §1.8", "→"), and a single
// non-ASCII byte makes V8 decode the whole 370 KB source into a two-byte string at every start-up
// (measured with callgrind: ~8 million instructions, a fifth of the agent's start-up). Those
// characters are spelled in ASCII; that only comments changed is checked by minifying both texts
// (comments dropped) and comparing them.
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');
const outfile = path.join(root, 'dist', 'agent.js');
esbuild.buildSync({
  entryPoints: [path.join(root, 'dist', 'agent', 'entry.js')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  charset: 'ascii',
  external: ['pino', 'semver'],
  logLevel: 'warning',
});

const ASCII = { '§': 'S', '→': '->', '←': '<-', '…': '...', '—': '--', '–': '-', 'µ': 'u', '×': 'x', '≤': '<=', '≥': '>=', '≠': '!=', '‘': "'", '’': "'", '“': '"', '”': '"' };
const bundled = fs.readFileSync(outfile, 'utf8');
// eslint-disable-next-line no-control-regex
const ascii = bundled.replace(/[^\x00-\x7f]/gu, (c) => ASCII[c] ?? '?');
if (ascii !== bundled) {
  const code = (text) => esbuild.transformSync(text, { minify: true, charset: 'ascii', legalComments: 'none', format: 'cjs', platform: 'node' }).code;
  if (code(ascii) !== code(bundled)) {
    throw new Error('bundle: non-ASCII characters outside comments; cannot write the bundle as ASCII');
  }
  fs.writeFileSync(outfile, ascii);
}
