// Which package a loaded file belongs to: the directory after the last `node_modules/` (with its
// @scope), its package.json name (so npm aliases such as `express4` → express still match), its
// version and its main file. package.json files are read once per package directory.

import { existsSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';

export interface PackageInfo {
  /** The `name` field of the package's package.json. */
  readonly name: string;
  readonly version: string;
  readonly dir: string;
  /** Main entry path relative to dir, with forward slashes and extension (e.g. `index.js`). */
  readonly main: string;
}

const NODE_MODULES = `${sep}node_modules${sep}`;
const cache = new Map<string, PackageInfo | null>();

/** Splits a filename into (package directory, path inside it), or undefined outside node_modules. */
export function splitPackagePath(filename: string): { dir: string; dirName: string; inner: string } | undefined {
  const at = filename.lastIndexOf(NODE_MODULES);
  if (at === -1) return undefined;
  const start = at + NODE_MODULES.length;
  let end = filename.indexOf(sep, start);
  if (end === -1) return undefined;
  if (filename[start] === '@') {
    end = filename.indexOf(sep, end + 1);
    if (end === -1) return undefined;
  }
  const dirName = filename.slice(start, end).split(sep).join('/');
  return { dir: filename.slice(0, end), dirName, inner: filename.slice(end + 1).split(sep).join('/') };
}

export function packageInfo(dir: string): PackageInfo | undefined {
  let info = cache.get(dir);
  if (info === undefined) {
    info = readInfo(dir);
    cache.set(dir, info);
  }
  return info ?? undefined;
}

function readInfo(dir: string): PackageInfo | null {
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown; main?: unknown };
    if (typeof pkg.name !== 'string' || typeof pkg.version !== 'string') return null;
    return { name: pkg.name, version: pkg.version, dir, main: resolveMain(dir, typeof pkg.main === 'string' ? pkg.main : 'index.js') };
  } catch {
    return null;
  }
}

/**
 * The file Node loads for `main`, as CommonJS resolution does: the path itself, with `.js`, or the
 * folder's index.js (`./lib` may be a file lib.js or a folder lib/). Only runs for packages in the
 * registry, once each.
 */
function resolveMain(dir: string, main: string): string {
  const m = normaliseMain(main);
  if (m.endsWith('.js') && !main.endsWith('.js') && !existsSync(join(dir, m))) {
    const asFolder = `${m.slice(0, -3)}/index.js`;
    if (existsSync(join(dir, asFolder))) return asFolder;
  }
  return m;
}

/** `./lib/index` → `lib/index.js`; `lib/` → `lib/index.js`. */
export function normaliseMain(main: string): string {
  let m = main.replace(/\\/g, '/').replace(/^\.\//, '');
  if (m === '' || m === '.') m = 'index.js';
  if (m.endsWith('/')) m += 'index.js';
  if (!/\.(c?js|json|node)$/.test(m)) m += '.js';
  return m;
}
