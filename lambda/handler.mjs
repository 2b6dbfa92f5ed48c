// The module the Lambda Node.js runtime loads as the function's handler when @xray/agent runs in
// Lambda: at preload the agent points _HANDLER here and keeps the user's handler string aside
// (agent/lambda/handler-rewrite.ts). Top-level await: the user's module is loaded now, in the
// init phase, resolved exactly the way the runtime would, and exported wrapped so that the
// invocation's subsegments have left the process before its result goes back to the runtime.
// The loader comes from the running agent (same recorder, context and log level); the unbundled
// copy is only a fallback if the agent is somehow not there.
// Hand-written, not compiled: the runtime imports it by path.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const runtime = globalThis[Symbol.for('@xray/agent.runtime')];
// ES module handlers are imported with this module's own import(): the agent's bundle is compiled
// through node:vm, where import() is not available without flags.
const importModule = (file) => import(file);
export const handler =
  typeof runtime?.loadLambdaHandler === 'function'
    ? await runtime.loadLambdaHandler(importModule)
    : await require('../dist/agent/lambda/user-handler.js').loadHandler(process.env, importModule);
