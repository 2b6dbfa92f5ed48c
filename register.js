'use strict';
// Entry point for `node --require @xray/agent`, `node --import @xray/agent` and
// `require('@xray/agent')` / `import … from '@xray/agent'` in app code: dist/agent.js starts the
// agent (once per process) and exports the manual API. Hand-written CommonJS so that both loaders
// share one module instance. A broken install must never stop the app from starting: then the
// API is the unbundled one, with the agent off.
let agent;
try {
  agent = require('./dist/agent.js');
} catch (err) {
  process.stderr.write('@xray/agent: could not start (' + (err && err.message) + '); the app runs untraced\n');
  agent = require('./dist/agent/api.js');
}
module.exports = agent;
// For Node's ESM loader, which finds named exports of CommonJS modules by reading their source:
// this never runs, it only names where the exports come from.
0 && (module.exports = require('./dist/agent.js'));
