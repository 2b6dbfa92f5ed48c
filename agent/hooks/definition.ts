// What a third-party module instrumentation declares (in the spirit of OpenTelemetry's
// InstrumentationNodeModuleDefinition): which package, which versions, which of its files, and
// the small patch functions. The registry decides when (and whether) they run.

import type { InstrumentationHost } from '../instrumentation';

export interface PatchContext {
  /** The package's version, from its own package.json. */
  readonly version: string;
  readonly host: InstrumentationHost;
}

/** Patches one loaded file of the package; may return replacement exports (or undefined). */
export type PatchFn = (exports: any, ctx: PatchContext) => unknown;

export interface FilePatch {
  /** Path inside the package, with forward slashes, e.g. `lib/router/index.js`. */
  readonly file: string;
  /** Ranges of the package version this file patch applies to (default: the module's ranges). */
  readonly versions?: readonly string[];
  readonly patch: PatchFn;
}

export interface ModuleInstrumentation {
  /** Short name, as used in AWS_XRAY_DISABLED_INSTRUMENTATIONS (e.g. `express`). */
  readonly name: string;
  /** npm package name, as in its package.json (e.g. `express`, `@hapi/hapi`). */
  readonly module: string;
  /** Supported semver ranges of the package; anything else is left alone with one warning. */
  readonly versions: readonly string[];
  /** Patch for the package's main entry (what `require(module)` returns). */
  readonly patch?: PatchFn;
  /** Patches for internal files of the package. */
  readonly files?: readonly FilePatch[];
}

/** The static registry entry: names known up front, the definition loaded on first use. */
export interface ModuleEntry {
  readonly name: string;
  readonly module: string;
  load(): ModuleInstrumentation;
}
