// Hooks module loading for the third-party packages in the registry.
//
// One hook on Node's CommonJS loader (`Module._extensions['.js']`): after a file of a registered
// package has run, its patch runs on `module.exports`. This sees CommonJS packages whether the app
// `require`s them or `import`s them from ESM (Node 20 evaluates a CommonJS package through the same
// loader before it builds the ESM namespace, so named imports see the patched exports too), and it
// needs no loader thread: registering an ESM loader hook (`module.register`) costs ~70 ms of
// start-up, measured here. Every package we instrument loads as CommonJS; an ESM-only package would
// need import-in-the-middle, added then, for that package only.

import Module from 'node:module';
import { log } from '../log';
import type { InstrumentationHost } from '../instrumentation';
import type { ModuleEntry, ModuleInstrumentation, PatchFn } from './definition';
import { packageInfo, splitPackagePath, type PackageInfo } from './package-info';
import { satisfiesAny } from './versions';
import { record } from './status';
import { beginTransaction, endTransaction, rollbackTransaction } from '../shim';

type Loader = (module: NodeModule, filename: string) => void;

interface ModuleHookOptions {
  entries: readonly ModuleEntry[];
  disabled: ReadonlySet<string>;
  host: InstrumentationHost;
}

const definitions = new Map<ModuleEntry, ModuleInstrumentation | null>();
const warned = new Set<string>();

export function installModuleHook(opts: ModuleHookOptions): void {
  const byDir = new Map<string, ModuleEntry[]>();
  for (const e of opts.entries) {
    const list = byDir.get(e.module);
    if (list) list.push(e);
    else byDir.set(e.module, [e]);
  }
  if (byDir.size === 0) return;
  warnAlreadyLoaded(byDir);

  const extensions = (Module as unknown as { _extensions: Record<string, Loader> })._extensions;
  const original = extensions['.js'];
  extensions['.js'] = function (this: unknown, module: NodeModule, filename: string): void {
    Reflect.apply(original, this, [module, filename]);
    try {
      const split = splitPackagePath(filename);
      if (split === undefined) return;
      const entries = byDir.get(split.dirName);
      if (entries === undefined) return;
      const info = packageInfo(split.dir);
      if (info === undefined) return;
      for (const entry of entries) {
        if (entry.module === info.name) onLoad(entry, info, split.inner, module, opts);
      }
    } catch (err) {
      log.once('hooks.dispatch', 'error', 'module hook failed; the module runs unpatched', { file: filename, error: String(err) });
    }
  };
}

function onLoad(entry: ModuleEntry, info: PackageInfo, inner: string, module: NodeModule, opts: ModuleHookOptions): void {
  if (opts.disabled.has(entry.name)) {
    record({ name: entry.name, module: info.name, version: info.version, status: 'disabled' });
    return;
  }
  const def = definitionOf(entry, info);
  if (def === undefined) return;
  const patches: Array<{ patch: PatchFn; label: string }> = [];
  if (inner === info.main && def.patch) patches.push({ patch: def.patch, label: info.main });
  for (const f of def.files ?? []) {
    if (f.file === inner) patches.push({ patch: f.patch, label: f.file });
  }
  if (patches.length === 0) return;
  if (!satisfiesAny(info.version, def.versions)) {
    record({ name: def.name, module: info.name, version: info.version, status: 'out of range', detail: def.versions.join(' || ') });
    warnOnce(
      `range:${info.dir}`,
      `${info.name}@${info.version} is not instrumented: @xray/agent supports ${info.name} ${def.versions.join(' || ')}`,
    );
    return;
  }
  for (const { patch, label } of patches) {
    const fileRanges = def.files?.find((f) => f.file === label)?.versions;
    if (fileRanges !== undefined && !satisfiesAny(info.version, fileRanges)) continue;
    runPatch(def, info, label, patch, module, opts.host);
  }
}

/** Runs one patch as a transaction: if it throws, every wrap it made is undone. */
function runPatch(def: ModuleInstrumentation, info: PackageInfo, label: string, patch: PatchFn, module: NodeModule, host: InstrumentationHost): void {
  beginTransaction();
  try {
    const replaced = patch(module.exports, { version: info.version, host });
    endTransaction();
    if (replaced !== undefined && replaced !== module.exports) module.exports = replaced;
    record({ name: def.name, module: info.name, version: info.version, status: 'patched' });
  } catch (err) {
    rollbackTransaction();
    record({ name: def.name, module: info.name, version: info.version, status: 'failed', detail: String(err) });
    log.error(`instrumentation "${def.name}" failed on ${info.name}@${info.version} (${label}); it runs unpatched`, {
      error: String((err as Error)?.stack ?? err),
    });
  }
}

function definitionOf(entry: ModuleEntry, info: PackageInfo): ModuleInstrumentation | undefined {
  let def = definitions.get(entry);
  if (def === undefined) {
    try {
      def = entry.load();
    } catch (err) {
      def = null;
      record({ name: entry.name, module: info.name, version: info.version, status: 'failed', detail: String(err) });
      log.error(`instrumentation "${entry.name}" could not be loaded; ${info.name} runs unpatched`, { error: String(err) });
    }
    definitions.set(entry, def);
  }
  return def ?? undefined;
}

/** Packages the app loaded before the agent started cannot be patched any more: say so once. */
function warnAlreadyLoaded(byDir: Map<string, ModuleEntry[]>): void {
  const names = new Set<string>();
  for (const filename of Object.keys(require.cache)) {
    const split = splitPackagePath(filename);
    if (split !== undefined && byDir.has(split.dirName)) names.add(split.dirName);
  }
  if (names.size > 0) {
    log.warn(
      `modules loaded before @xray/agent started are not instrumented: ${[...names].join(', ')} ` +
        '(load the agent first: node --require @xray/agent, or --import @xray/agent)',
    );
  }
}

function warnOnce(key: string, msg: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  log.warn(msg);
}
