// Installs exact versions of instrumented packages side by side into .test-versions/<pkg>@<ver>/
// (never into the project's own node_modules), so one test run can exercise several majors of the
// same package. `npm test` uses the newest version of each supported major; with
// XRAY_TEST_VERSIONS=all (npm run test:versions) the lowest supported version of each major too.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './spawn-app';

interface ModuleVersions {
  newest: string[];
  lowest?: string[];
  /**
   * Other packages the fixtures need next to it (e.g. `@koa/router`), as npm specs: a list for
   * every version, or an object from a semver range of the module to the list for versions in it
   * (versions in no range get none, e.g. a below-the-floor version a companion does not support).
   */
  with?: string[] | Record<string, string[]>;
}

export function versionsFile(): { modules: Record<string, ModuleVersions> } {
  return JSON.parse(readFileSync(path.join(repoRoot(), 'test', 'versions.json'), 'utf8')) as { modules: Record<string, ModuleVersions> };
}

/** The versions of `module` this run tests. */
export function versionsUnderTest(module: string): string[] {
  const entry = versionsFile().modules[module];
  if (entry === undefined) throw new Error(`test/versions.json has no entry for ${module}`);
  const all = process.env.XRAY_TEST_VERSIONS === 'all';
  return [...(all ? (entry.lowest ?? []) : []), ...entry.newest];
}

/**
 * Ensures `module@version` (plus the entry's `with` packages) is installed in its own folder and
 * returns that folder's node_modules path, for fixtures to resolve the package from
 * (env XRAY_TEST_NODE_MODULES). Safe when several test processes ask at once (a lock directory).
 */
export function installVersion(module: string, version: string): string {
  const dir = path.join(repoRoot(), '.test-versions', `${module.replace('/', '+')}@${version}`);
  const nodeModules = path.join(dir, 'node_modules');
  const marker = path.join(dir, '.installed');
  if (existsSync(marker)) return nodeModules;
  mkdirSync(path.dirname(dir), { recursive: true });
  const lock = `${dir}.lock`;
  // Native addons (sqlite3, better-sqlite3) compile SQLite from source here: minutes on a busy 2-core machine.
  const deadline = Date.now() + 900_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(marker)) return nodeModules;
      if (Date.now() > deadline) throw new Error(`timed out waiting for another install of ${module}@${version}`);
      execFileSync(process.execPath, ['-e', 'setTimeout(()=>{},200)']);
    }
  }
  try {
    if (existsSync(marker)) return nodeModules;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    // A package.json of its own keeps npm from walking up into the project.
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'xray-test-versions', private: true }));
    const extra = companions(versionsFile().modules[module]?.with, version);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', `${module}@${version}`, ...extra], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 880_000,
    });
    const installed = JSON.parse(readFileSync(path.join(nodeModules, module, 'package.json'), 'utf8')) as { version: string };
    if (installed.version !== version) throw new Error(`asked for ${module}@${version}, npm installed ${installed.version}`);
    writeFileSync(marker, new Date().toISOString());
    return nodeModules;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The `with` packages for one version of the module. */
function companions(spec: ModuleVersions['with'], version: string): string[] {
  if (spec === undefined) return [];
  if (Array.isArray(spec)) return spec;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const semver = require('semver') as typeof import('semver');
  return Object.entries(spec).flatMap(([range, specs]) => (semver.satisfies(version, range) ? specs : []));
}
