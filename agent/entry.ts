// The agent as one module: starts it (once per process, guarded) and exports the manual API.
// scripts/bundle.js bundles this file and everything it loads into dist/agent.js, which is what
// register.js loads: one file to read and compile at start-up instead of ~60 (measured ~14 ms).
// Instrumentations inside the bundle still run their module code only when first required.
// The API is listed by name (not `export *`) so the bundler can state the names for Node's ESM
// loader, which is how `import { getSegment } from '@xray/agent'` works; a test checks the list
// against api.ts.

import { start } from './bootstrap';

start();

export {
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
} from './api';
export type { Entity } from './api';
