// koa 2.x and 3.x. What is hooked (the same in every version; details in the files named):
//   errors → cause   lib/context.js `onerror`: every error koa turns into a response passes there
//                    (a middleware's throw or rejection, ctx.throw(404), a body stream's error)
//   route template   lib/context.js `onerror` too: koa calls `ctx.onerror(null)` when the response
//                    finishes, before the segment ends; the router has set `ctx._matchedRoute` by
//                    then (context.ts says why the router itself is not patched)
//   middleware       lib/application.js `use`, only when middleware subsegments are on (middleware.ts)
// Koa publishes no diagnostics_channel. Its ESM entry (dist/koa.mjs) imports lib/application.js,
// so `import Koa from 'koa'` loads the same patched CommonJS files.

import type { ModuleInstrumentation } from '../../agent/hooks/definition';
import { patchContext } from './context';
import { patchApplication } from './middleware';

export const koa: ModuleInstrumentation = {
  name: 'koa',
  module: 'koa',
  // Koa 1 (generator middleware, co) has a different request path and is out of scope.
  versions: ['^2.0.0', '^3.0.0'],
  patch: (exports, ctx) => patchApplication(exports, ctx.host),
  files: [{ file: 'lib/context.js', patch: (exports, ctx) => patchContext(exports, ctx.host) }],
};
