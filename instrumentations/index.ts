// The static list of instrumentations. Each entry is loaded only when enabled, so a disabled
// instrumentation costs nothing. Third-party modules (loaded through require/import hooks with
// version ranges) join this list in agent/hooks when the first of them lands.

import type { BuiltinInstrumentation } from '../agent/instrumentation';

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
