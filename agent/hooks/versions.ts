// Version matching, with semver loaded only when the first instrumented module loads
// (it costs ~13 ms to require, DESIGN §9).

let semver: typeof import('semver') | undefined;

export function satisfiesAny(version: string, ranges: readonly string[]): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  semver ??= require('semver') as typeof import('semver');
  return ranges.some((r) => semver!.satisfies(version, r, { includePrerelease: true }));
}
