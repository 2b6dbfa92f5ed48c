// express 4: routing lives in express's own lib/router (Router prototype in index.js, Layer in
// layer.js); the shared patch code is in ./routing. express 5 moved routing to the `router`
// package (./router), so no file of express 5 itself is patched.
//
// Floor 4.6.0: the first 4.x whose layers run handlers through Layer#handle_request and
// Layer#handle_error (4.0–4.5 call `layer.handle` inline in the router), which is what the route
// template, the error middleware and the context all hang on.

import type { ModuleInstrumentation } from '../../agent/hooks/definition';
import { EXPRESS4_LAYER, patchLayer, patchRouter } from './routing';

export const express: ModuleInstrumentation = {
  name: 'express',
  module: 'express',
  versions: ['>=4.6.0 <5'],
  files: [
    { file: 'lib/router/index.js', patch: (exports, ctx) => patchRouter(exports, ctx.host) },
    { file: 'lib/router/layer.js', patch: (exports, ctx) => patchLayer((exports as { prototype?: unknown } | null)?.prototype, EXPRESS4_LAYER, ctx.host) },
  ],
};
