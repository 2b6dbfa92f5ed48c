// The static list of instrumentations. Each entry is loaded only when needed, so a disabled
// instrumentation, or one for a package the app never loads, costs nothing.
//   BUILTINS: Node built-ins and runtime features, installed at start-up.
//   MODULES:  third-party packages, patched by agent/hooks when the app loads them, if their
//             version is in the definition's ranges.

import type { BuiltinInstrumentation } from '../agent/instrumentation';
import type { ModuleEntry } from '../agent/hooks/definition';

export interface BuiltinDefinition {
  name: string;
  load(): BuiltinInstrumentation;
}

export const BUILTINS: readonly BuiltinDefinition[] = [
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  { name: 'http', load: () => require('./http/server').httpServer as BuiltinInstrumentation },
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  { name: 'http', load: () => require('./http/client').httpClient as BuiltinInstrumentation },
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  { name: 'fetch', load: () => require('./fetch/undici').fetchInstrumentation as BuiltinInstrumentation },
];

/* eslint-disable @typescript-eslint/no-require-imports */
export const MODULES: readonly ModuleEntry[] = [
  { name: 'express', module: 'express', load: () => require('./express').express },
  { name: 'express', module: 'router', load: () => require('./express/router').router },
  { name: 'koa', module: 'koa', load: () => require('./koa').koa },
  { name: 'koa', module: '@koa/router', load: () => require('./koa/router').koaRouter },
  { name: 'fastify', module: 'fastify', load: () => require('./fastify').fastify },
  { name: 'hapi', module: '@hapi/hapi', load: () => require('./hapi').hapi },
  { name: 'restify', module: 'restify', load: () => require('./restify').restify },
];
/* eslint-enable @typescript-eslint/no-require-imports */
