// The module the Lambda Node.js runtime loads as the function's handler when @xray/agent runs in
// Lambda: at preload the agent points _HANDLER here and keeps the user's handler string aside
// (dist/agent/lambda/handler-rewrite.js). Top-level await: the user's module is loaded now, in the
// init phase, resolved exactly the way the runtime would, and exported wrapped so that the
// invocation's subsegments have left the process before its result goes back to the runtime.
// Hand-written, not compiled: the runtime imports it by path.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { loadHandler } = require('../dist/agent/lambda/user-handler.js');

export const handler = await loadHandler();
