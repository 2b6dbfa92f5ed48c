// pg (node-postgres) 8.x: the Client patch (client.ts) and, through pg's own files, the parser of
// connection options that pool-level spans use to describe where a pool points (facts.ts).
// pg.Pool is pg-pool's class: see pool.ts (registered for the pg-pool package).
//
// pg's package.json says `"main": "./lib"`, so the entry is matched as the file lib/index.js.

import type { ModuleInstrumentation } from '../../agent/hooks/definition';
import { patchClient } from './client';
import { setConnectionParameters, setPgVersion } from './facts';

export const pg: ModuleInstrumentation = {
  name: 'pg',
  module: 'pg',
  versions: ['>=8.0.3 <9'],
  files: [
    {
      file: 'lib/connection-parameters.js',
      // Nothing is changed: the class is kept to resolve pool options the way pg does.
      patch: (exports) => setConnectionParameters(exports),
    },
    {
      file: 'lib/index.js',
      patch: (exports, ctx) => {
        setPgVersion(ctx.version);
        patchClient((exports as { Client?: unknown }).Client, ctx.host, `pg@${ctx.version}`);
      },
    },
  ],
};
