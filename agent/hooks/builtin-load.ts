// Runs a patch when the app first loads a Node built-in, instead of loading it at start-up
// ("pay only for what is used": node:http and node:https alone cost ~12 ms to load, and a script
// that never uses them should not pay that for the agent).
//
// Signals that a built-in is now in use, whichever comes first:
//   - a CommonJS `require('http')` / `require('node:http')` (Module._load; every CommonJS package
//     that makes HTTP calls, the AWS SDK included, loads it this way);
//   - the diagnostics channel Node publishes for the first incoming request (http.server.request.start,
//     published just before Server#emit('request'), so the server patch still sees that request),
//     and for an outgoing request (http.client.request.start): these cover an ESM app that imported
//     `node:http` directly, which no CommonJS hook sees.
// After patching, `syncBuiltinESMExports` updates ESM named imports (`import { request } from
// 'node:http'`) to the patched functions.

import diagnostics from 'node:diagnostics_channel';
import Module from 'node:module';
import { log } from '../log';

export type BuiltinName = 'http' | 'https';

type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;

const waiting = new Map<BuiltinName, Array<() => void>>();
let originalLoad: Loader | undefined;
let wrappedLoad: Loader | undefined;

/** Calls `patch` once, as soon as `name` is in use (now, if it already is). */
export function whenBuiltinLoaded(name: BuiltinName, patch: () => void): void {
  if (isLoaded(name)) {
    run(patch);
    return;
  }
  const list = waiting.get(name);
  if (list) list.push(patch);
  else waiting.set(name, [patch]);
  hookModuleLoad();
  subscribeChannels();
}

/** Node's own list of loaded built-ins; if it is ever missing, assume loaded (patch eagerly). */
function isLoaded(name: BuiltinName): boolean {
  const list = (process as unknown as { moduleLoadList?: string[] }).moduleLoadList;
  return !Array.isArray(list) || list.includes(`NativeModule ${name}`);
}

function fire(name: BuiltinName): void {
  const patches = waiting.get(name);
  if (patches === undefined) return;
  waiting.delete(name);
  for (const patch of patches) run(patch);
  try {
    (Module as unknown as { syncBuiltinESMExports(): void }).syncBuiltinESMExports();
  } catch {
    /* ESM named imports keep the unpatched functions; default imports are patched */
  }
  if (waiting.size === 0) unhook();
}

function run(patch: () => void): void {
  try {
    patch();
  } catch (err) {
    log.error('patching a Node built-in failed; it runs untraced', { error: String(err) });
  }
}

function hookModuleLoad(): void {
  if (wrappedLoad !== undefined) return;
  const mod = Module as unknown as { _load: Loader };
  originalLoad = mod._load;
  const original = originalLoad;
  wrappedLoad = function (this: unknown, request: string): unknown {
    const result = Reflect.apply(original, this, arguments);
    if (waiting.size > 0 && typeof request === 'string') {
      const name = request.startsWith('node:') ? request.slice(5) : request;
      if (name === 'http' || name === 'https') fire(name);
    }
    return result;
  };
  mod._load = wrappedLoad;
}

// Once http is patched, these run for every request of an app that never loads https, so they
// must stay cheap: Node's list of loaded modules is searched only the first time; after that an
// https server or client shows itself by its TLS socket or its protocol.
const onServerRequest = (message: unknown): void => {
  if (waiting.has('http')) {
    fire('http');
    // The request may come from an https server, whose prototype chain does not include http.Server.
    if (isLoaded('https')) fire('https');
  } else if ((message as { socket?: { encrypted?: boolean } }).socket?.encrypted === true) {
    fire('https');
  }
};

const onClientRequest = (message: unknown): void => {
  const first = waiting.has('http');
  if (first) fire('http');
  const protocol = (message as { request?: { protocol?: string } }).request?.protocol;
  if (protocol === 'https:' || (first && isLoaded('https'))) fire('https');
};

let subscribed = false;

function subscribeChannels(): void {
  if (subscribed) return;
  subscribed = true;
  diagnostics.subscribe('http.server.request.start', onServerRequest);
  diagnostics.subscribe('http.client.request.start', onClientRequest);
}

function unhook(): void {
  const mod = Module as unknown as { _load: Loader };
  // Put Module._load back only if nobody wrapped it after us (that would cut their wrapper out).
  if (wrappedLoad !== undefined && mod._load === wrappedLoad && originalLoad !== undefined) {
    mod._load = originalLoad;
    wrappedLoad = undefined;
  }
  if (subscribed) {
    diagnostics.unsubscribe('http.server.request.start', onServerRequest);
    diagnostics.unsubscribe('http.client.request.start', onClientRequest);
    subscribed = false;
  }
}
