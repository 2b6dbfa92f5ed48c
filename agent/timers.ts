// The timer functions the agent uses: Node's own, taken from node:timers when the agent loads.
// An app or its test suite that swaps the global timers for fakes (sinon's useFakeTimers, Node's
// mock.timers, which also replaces node:timers' exports) would otherwise freeze the agent with
// it: bursts never sent, finished segments never serialized, time-outs that never fire. Agent code
// imports these names instead of using the globals.

import * as nodeTimers from 'node:timers';

export const setTimeout: typeof globalThis.setTimeout = nodeTimers.setTimeout;
export const clearTimeout: typeof globalThis.clearTimeout = nodeTimers.clearTimeout;
export const setImmediate: typeof globalThis.setImmediate = nodeTimers.setImmediate;
