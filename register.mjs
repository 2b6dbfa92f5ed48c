// Entry point for ES modules: `node --import @xray/agent` and `import ... from '@xray/agent'`
// resolve here (package.json "exports", condition "import"). It loads the CommonJS entry
// (register.js), so the preload and the app's own require() and import share one module instance,
// and re-exports the manual API by name.
//
// Why a file of its own: a CommonJS file handed to `--import` goes through Node's ESM loader as a
// CommonJS module (resolved, read, and lexed for its export names before it runs), which cost
// ~14 ms of start-up more than this two-line ES module that require()s it (measured side by side,
// `--import` of each with `-e 0`). test/unit/entry.test.ts keeps the names below equal to the API.
import { createRequire } from 'node:module';

const agent = createRequire(import.meta.url)('./register.js');

export default agent;
export const {
  getSegment,
  setSegment,
  captureFunc,
  captureAsyncFunc,
  captureCallbackFunc,
  flush,
  setContextMissingStrategy,
  isEnabled,
  captureHTTPsGlobal,
  captureHTTPs,
  captureAWS,
  captureAWSClient,
  captureAWSv3Client,
  capturePromise,
  Segment,
  Subsegment,
  express,
  middleware,
} = agent;
