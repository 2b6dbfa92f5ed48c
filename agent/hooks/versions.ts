// Version matching. The ranges the registry uses are simple (`>=3.0.0 <4`, `^4.0.0`) and installed
// versions are plain `x.y.z`: those are compared here directly. Anything else (prereleases, `||`,
// tildes, x-ranges, caret on 0.x) goes to semver, loaded only then: requiring semver and its first
// `satisfies` cost 13–25 ms (DESIGN §9), which every cold start that loads an instrumented package
// (the AWS SDK in Lambda) would otherwise pay.

let semver: typeof import('semver') | undefined;

export function satisfiesAny(version: string, ranges: readonly string[]): boolean {
  return ranges.some((r) => {
    const fast = fastSatisfies(version, r);
    if (fast !== undefined) return fast;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    semver ??= require('semver') as typeof import('semver');
    return semver.satisfies(version, r, { includePrerelease: true });
  });
}

const PLAIN = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
const COMPARATOR = /^(>=|<=|>|<|=|\^)?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?$/;

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

/**
 * semver.satisfies(version, range, { includePrerelease: true }) for a plain `x.y.z` version and a
 * range made of space-separated comparators `>=a.b.c`, `<a[.b[.c]]`, `>=a[.b]`, `<=a.b.c`,
 * `>a.b.c`, `=a.b.c` / `a.b.c`, `^a.b.c` (a >= 1); undefined for anything else.
 * (For a release version, semver's `<4` = `<4.0.0-0` and `>=3` = `>=3.0.0` reduce to the plain
 * comparisons used here.)
 */
export function fastSatisfies(version: string, range: string): boolean | undefined {
  const v = PLAIN.exec(version);
  if (v === null) return undefined;
  const ver = [Number(v[1]), Number(v[2]), Number(v[3])];
  const parts = range.trim().split(/\s+/);
  if (parts.length === 0 || parts[0] === '') return undefined;
  let ok = true;
  for (const part of parts) {
    const m = COMPARATOR.exec(part);
    if (m === null) return undefined;
    const op = m[1] ?? '=';
    const full = m[3] !== undefined && m[4] !== undefined;
    const bound = [Number(m[2]), Number(m[3] ?? 0), Number(m[4] ?? 0)];
    const c = compare(ver, bound);
    switch (op) {
      case '>=':
        ok &&= c >= 0;
        break;
      case '<':
        ok &&= c < 0;
        break;
      case '<=':
      case '>':
      case '=':
        if (!full) return undefined;
        ok &&= op === '<=' ? c <= 0 : op === '>' ? c > 0 : c === 0;
        break;
      case '^':
        if (!full || bound[0] === 0) return undefined;
        ok &&= c >= 0 && ver[0] === bound[0];
        break;
    }
  }
  return ok;
}
