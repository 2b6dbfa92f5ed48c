// @hapi/hapi 21. What is hooked (details in request.ts): two methods of hapi's Request class
// (lib/request.js), the same in every 21.x release:
//   route template   Request#_lookup: the router has just matched; `request.route.path` is the
//                    template as hapi writes it, plugin route prefixes included (`/api/users/{id}`)
//   errors → cause   Request#_setResponse: every Boom error hapi turns into a response is set there
// hapi publishes no diagnostics_channel. Its extension points were not used: an onPreResponse
// extension would add a step (and awaits) to every request's lifecycle, runs in some order among
// the app's own extensions (so it may see a response a later one replaces, or miss one a later one
// creates), and needs every server's construction hooked; the internal methods need none of that.

import type { ModuleInstrumentation } from '../../agent/hooks/definition';
import { patchRequest } from './request';

export const hapi: ModuleInstrumentation = {
  name: 'hapi',
  module: '@hapi/hapi',
  versions: ['^21.0.0'],
  files: [{ file: 'lib/request.js', patch: (exports, ctx) => patchRequest(exports, ctx.host) }],
};
