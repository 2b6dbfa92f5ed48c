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
  { name: 'fastify', module: 'fastify', load: () => require('./fastify').fastify },
  { name: 'hapi', module: '@hapi/hapi', load: () => require('./hapi').hapi },
  { name: 'restify', module: 'restify', load: () => require('./restify').restify },
  { name: 'mysql', module: 'mysql', load: () => require('./mysql').mysql },
  { name: 'mysql2', module: 'mysql2', load: () => require('./mysql2').mysql2 },
  { name: 'pg', module: 'pg', load: () => require('./pg').pg },
  { name: 'pg', module: 'pg-pool', load: () => require('./pg/pool').pgPool },
  { name: 'sqlite3', module: 'sqlite3', load: () => require('./sqlite3').sqlite3 },
  { name: 'better-sqlite3', module: 'better-sqlite3', load: () => require('./better-sqlite3').betterSqlite3 },
  { name: 'aws-sdk', module: 'aws-sdk', load: () => require('./aws-sdk/v2').awsSdkV2 },
  { name: 'aws-sdk', module: '@smithy/core', load: () => require('./aws-sdk/v3').smithyCore },
  { name: 'aws-sdk', module: '@smithy/smithy-client', load: () => require('./aws-sdk/v3').smithyClient },
  { name: 'aws-sdk', module: '@aws-sdk/smithy-client', load: () => require('./aws-sdk/v3').awsSmithyClient },
];
/* eslint-enable @typescript-eslint/no-require-imports */
