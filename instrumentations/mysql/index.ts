// mysql (mysqljs) 2.x. Its entry loads its classes lazily from lib/, so the patches go on those
// files: the Connection (queries), the Pool (context of queued callers, pool-level queries) and
// the protocol Sequence every query ends through. PoolCluster namespaces use these pools.

import type { ModuleInstrumentation } from '../../agent/hooks/definition';
import { patchConnection, patchSequence } from './connection';
import { patchPool } from './pool';

export const mysql: ModuleInstrumentation = {
  name: 'mysql',
  module: 'mysql',
  versions: ['>=2.18.0 <3'],
  files: [
    { file: 'lib/Connection.js', patch: (exports, ctx) => patchConnection(exports, ctx.host, `mysql@${ctx.version}`) },
    { file: 'lib/Pool.js', patch: (exports, ctx) => patchPool(exports, ctx.host, `mysql@${ctx.version}`) },
    { file: 'lib/protocol/sequences/Sequence.js', patch: (exports) => patchSequence(exports) },
  ],
};
