'use strict';
// Bundles the compiled agent (dist/agent/entry.js and all it requires) into dist/agent.js, the
// file register.js loads. tsc still emits every module to dist/ (types, unit tests); the bundle
// only saves start-up time. pino and semver stay outside: they are loaded on first use from
// node_modules.
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');
esbuild.buildSync({
  entryPoints: [path.join(root, 'dist', 'agent', 'entry.js')],
  outfile: path.join(root, 'dist', 'agent.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['pino', 'semver'],
  logLevel: 'warning',
});
