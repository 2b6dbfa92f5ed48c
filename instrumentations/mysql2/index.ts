// mysql2 2.x and 3.x. Two paths, and exactly one of them records a given query:
//   >= 3.20 — mysql2's own TracingChannels (channels.ts), when this Node runs TracingChannel
//             callbacks through asyncStart.runStores (checked once: the context depends on it);
//   older   — patches on Connection, Pool and Command (patches.ts).
// The entry (index.js) is what both `mysql2` and `mysql2/promise` load.

import type { ModuleInstrumentation } from '../../agent/hooks/definition';
import { satisfiesAny } from '../../agent/hooks/versions';
import { canUseChannels, subscribeChannels } from './channels';
import { patchCommand, patchMysql2 } from './patches';

const CHANNEL_VERSIONS = ['>=3.20.0'];

function usesChannels(version: string): boolean {
  return satisfiesAny(version, CHANNEL_VERSIONS) && canUseChannels();
}

export const mysql2: ModuleInstrumentation = {
  name: 'mysql2',
  module: 'mysql2',
  versions: ['>=2.0.0 <4'],
  patch: (exports, ctx) => {
    const driver = `mysql2@${ctx.version}`;
    if (usesChannels(ctx.version)) subscribeChannels(exports, ctx.host, driver);
    else patchMysql2(exports, ctx.host, driver);
  },
  files: [
    {
      file: 'lib/commands/command.js',
      patch: (exports, ctx) => {
        if (!usesChannels(ctx.version)) patchCommand(exports);
      },
    },
  ],
};
