// fastify 4.x and 5.x. What is hooked, per version (details in the files named):
//   route template   5.x: TracingChannel `fastify.request.handler` start (channel.ts);
//                    4.x, and 5.x on Node < 20.13: lib/handleRequest.js (patches.ts)
//   errors → cause   4.x and 5.x: lib/error-handler.js handleError (patches.ts)
//   route symbol     4.8+ and 5.x: lib/symbols.js is read, not changed (route.ts)
// No hooks are added to the app (fastify.addHook / onRoute would change its lifecycle order), and
// the request's async context needs no help: fastify itself binds the body parser's callback to
// the request's context (AsyncResource in lib/contentTypeParser.js), so handlers, hooks and the
// downstream calls they make stay inside the request's segment.

import type { ModuleInstrumentation, PatchContext } from '../../agent/hooks/definition';
import { handlerChannelUsable, subscribeHandlerChannel } from './channel';
import { patchHandleError, patchHandleRequest } from './patches';
import { rememberRouteContextKey } from './route';

/** Fastify 5 on a Node that lets it publish the handler channel. */
function usesChannel(version: string): boolean {
  return Number.parseInt(version, 10) >= 5 && handlerChannelUsable();
}

export const fastify: ModuleInstrumentation = {
  name: 'fastify',
  module: 'fastify',
  versions: ['^4.0.0', '^5.0.0'],
  patch(_exports, ctx) {
    if (usesChannel(ctx.version)) subscribeHandlerChannel(ctx.host);
    return undefined;
  },
  files: [
    { file: 'lib/symbols.js', patch: (exports) => rememberRouteContextKey(exports) },
    { file: 'lib/error-handler.js', patch: (exports, ctx) => patchHandleError(exports, ctx.host) },
    ...['lib/handleRequest.js', 'lib/handle-request.js'].map((file) => ({
      file,
      patch: (exports: unknown, ctx: PatchContext) =>
        usesChannel(ctx.version) ? undefined : patchHandleRequest(exports, ctx.host),
    })),
  ],
};
