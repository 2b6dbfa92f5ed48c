// The `router` package (2.x), where express 5 does its routing (express 5 depends on router ^2):
// Router prototype in index.js, Layer in lib/layer.js. Same patch code as express 4 (./routing).
// Registered under the short name `express`, so disabling express disables this too.

import type { ModuleInstrumentation } from '../../agent/hooks/definition';
import { ROUTER2_LAYER, patchLayer, patchRouter } from './routing';

export const router: ModuleInstrumentation = {
  name: 'express',
  module: 'router',
  versions: ['>=2.0.0 <3'],
  patch: (exports, ctx) => patchRouter((exports as { prototype?: unknown } | null)?.prototype, ctx.host),
  files: [{ file: 'lib/layer.js', patch: (exports, ctx) => patchLayer((exports as { prototype?: unknown } | null)?.prototype, ROUTER2_LAYER, ctx.host) }],
};
