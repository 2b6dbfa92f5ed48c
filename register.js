'use strict';
// Entry point for `node --require @xray/agent`, `node --import @xray/agent` and
// `require('@xray/agent')` / `import ... from '@xray/agent'` in app code: dist/agent.js starts the
// agent (once per process) and exports the manual API. Hand-written CommonJS so that both loaders
// share one module instance. A broken install must never stop the app from starting: then the
// API is the unbundled one, with the agent off.
//
// The bundle is compiled with V8's code cache (dist/agent*.cache, written at build time by
// scripts/code-cache.js): compiling the bundle and the functions that run at start-up would
// otherwise cost ~6 ms of every process start, and ~15 ms of a Lambda cold start. V8 accepts a cache
// only from the same Node version, for the same source, made by a process with the same V8 flags:
// the build makes one for node without flags and one for each common Lambda memory size (the
// Lambda runtime starts node with heap sizes derived from it); any other case compiles as usual.
// Code compiled this way cannot use import() (Node 20 needs --experimental-vm-modules for it): the
// bundle has none, a test checks, and ES modules are imported by lambda/handler.mjs.
const fs = require('node:fs');
const path = require('node:path');

const BUNDLE = path.join(__dirname, 'dist', 'agent.js');
/** The code cache this process looked for: { file, rejected (undefined: there was none), script }. */
const CODE_CACHE_STATUS = Symbol.for('@xray/agent.codeCache');

/**
 * The cache made for this process's V8 flags: `agent.cache` without flags, else the flags that
 * vary between deployments (those the Lambda runtime sets) in the file name, sorted.
 */
function codeCacheFile() {
  const flags = [];
  const options = process.env.NODE_OPTIONS ? process.env.NODE_OPTIONS.split(/\s+/) : [];
  for (const arg of process.execArgv.concat(options)) {
    if (/^--(expose[-_]gc|max[-_]semi[-_]space[-_]size=\d+|max[-_]old[-_]space[-_]size=\d+)$/.test(arg)) flags.push(arg.replace(/_/g, '-'));
  }
  flags.sort();
  return path.join(__dirname, 'dist', 'agent' + flags.join('') + '.cache');
}

function loadBundle() {
  const Module = require('node:module');
  // An entry that is not loaded yet is one Node's ESM loader made while pre-reading the bundle's
  // exports: the bundle is loaded into it, as Node's require would.
  let mod = Module._cache[BUNDLE];
  if (mod !== undefined && mod.loaded) return mod.exports;
  const file = codeCacheFile();
  let cachedData;
  try {
    cachedData = fs.readFileSync(file);
  } catch {
    // No cache made for this process's flags: V8 compiles the bundle from source.
  }
  const vm = require('node:vm');
  const script = new vm.Script(Module.wrap(fs.readFileSync(BUNDLE, 'utf8')), { filename: BUNDLE, cachedData });
  // For diagnostics, and for scripts/code-cache.js, which writes the cache of this very script.
  globalThis[CODE_CACHE_STATUS] = { file, rejected: script.cachedDataRejected, script };
  if (mod === undefined) {
    mod = new Module(BUNDLE, module);
    // Registered before it runs, as Node does, so a require of dist/agent.js elsewhere gets this one.
    Module._cache[BUNDLE] = mod;
  }
  mod.filename = BUNDLE;
  mod.paths = Module._nodeModulePaths(path.dirname(BUNDLE));
  try {
    script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(BUNDLE), mod, BUNDLE, path.dirname(BUNDLE));
  } catch (err) {
    delete Module._cache[BUNDLE];
    throw err;
  }
  mod.loaded = true;
  return mod.exports;
}

let agent;
try {
  agent = loadBundle();
} catch (err) {
  process.stderr.write('@xray/agent: could not start (' + (err && err.message) + '); the app runs untraced\n');
  agent = require('./dist/agent/api.js');
}
module.exports = agent;
// For Node's ESM loader, which finds the named exports of a CommonJS module by reading its source
// (cjs-module-lexer): this never runs, it only lists the names (test/unit/entry.test.ts keeps the
// list equal to the API). Naming the bundle here instead would make the loader read all of it:
// ~40 ms of start-up with --import.
0 && (exports.getSegment = exports.setSegment = exports.captureFunc = exports.captureAsyncFunc = 0);
0 && (exports.captureCallbackFunc = exports.flush = exports.setContextMissingStrategy = exports.isEnabled = 0);
0 && (exports.captureHTTPsGlobal = exports.captureHTTPs = exports.captureAWS = exports.captureAWSClient = 0);
0 && (exports.captureAWSv3Client = exports.capturePromise = exports.Segment = exports.Subsegment = 0);
0 && (exports.express = exports.middleware = 0);
