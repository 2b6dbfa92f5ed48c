'use strict';
// Entry point for `node --require @xray/agent`, `node --import @xray/agent` and
// `require('@xray/agent')` / `import … from '@xray/agent'` in app code: it starts the agent (once
// per process) and exports the manual API. Hand-written CommonJS so that both loaders share one
// module instance, and so a broken install can never stop the app from starting.
try {
  require('./dist/agent/bootstrap.js').start();
} catch (err) {
  process.stderr.write('@xray/agent: could not start (' + (err && err.message) + '); the app runs untraced\n');
}
module.exports = require('./dist/agent/api.js');
