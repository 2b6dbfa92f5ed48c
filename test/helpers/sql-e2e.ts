// What the three SQL end-to-end test files share: running a fixture app under the agent, sending
// it requests that each carry their own trace, and reading back that request's segment and its
// SQL subsegments from the UDP test daemon.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { findSubsegments, type UdpDaemon, type XrayDocument, type XrayEntity } from './udp-daemon';
import { httpRequest, spawnApp, type Loader, type RunningApp } from './spawn-app';

export const ALWAYS = JSON.stringify({ version: 2, default: { fixed_target: 0, rate: 1 } });

export function newRoot(): string {
  return `1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}

export interface RouteResult {
  status: number;
  body: { ok: boolean; result?: any; error?: Record<string, unknown> };
}

/** GET `path` as part of trace `root` (sampled). */
export async function call(app: RunningApp, path: string, root?: string): Promise<RouteResult> {
  const headers = root !== undefined ? { 'x-amzn-trace-id': `Root=${root};Sampled=1` } : undefined;
  const res = await httpRequest(app.url(path), { headers, timeoutMs: 20_000 });
  return { status: res.status, body: JSON.parse(res.body) as RouteResult['body'] };
}

export function segmentOf(docs: readonly XrayDocument[], root: string): XrayDocument | undefined {
  return docs.find((d) => d.trace_id === root && d.type !== 'subsegment');
}

/** The SQL subsegments anywhere under an entity. */
export function sqlSubsegments(entity: XrayEntity): XrayEntity[] {
  return findSubsegments(entity, (s) => s.sql !== undefined);
}

/** Sends `path` in a fresh trace and returns the app's answer and that request's segment. */
export async function tracedCall(daemon: UdpDaemon, app: RunningApp, path: string): Promise<{ res: RouteResult; segment: XrayDocument; sql: XrayEntity[] }> {
  const root = newRoot();
  const res = await call(app, path, root);
  const docs = await daemon.waitFor((d) => segmentOf(d, root) !== undefined, 10_000);
  const segment = segmentOf(docs, root)!;
  return { res, segment, sql: sqlSubsegments(segment) };
}

export async function withApp<T>(
  opts: { script: string; loader: Loader; env: Record<string, string> },
  fn: (app: RunningApp) => Promise<T>,
): Promise<T> {
  const app = await spawnApp({ script: opts.script, loader: opts.loader, env: opts.env });
  try {
    return await fn(app);
  } finally {
    await app.stop();
  }
}

/** No datagram the agent sent contains the database password, in any form. */
export function assertNoPassword(daemon: UdpDaemon, password: string): void {
  assert.ok(daemon.datagrams.length > 0, 'the agent sent documents');
  for (const d of daemon.datagrams) {
    const text = d.toString('utf8');
    assert.ok(!text.includes(password), `a datagram carries the password: ${text.slice(0, 300)}`);
    assert.ok(!text.includes(encodeURIComponent(password)), 'a datagram carries the URL-encoded password');
  }
}

/** An error the app saw, reduced to what must be identical with and without the agent. */
export function errorIdentity(e: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['name', 'message', 'code', 'errno', 'sqlState', 'sqlMessage', 'fatal', 'severity', 'routine']) if (e?.[k] !== undefined) out[k] = e[k];
  // Connection errors name the port the app dialled; both runs dial the same one.
  return out;
}

/**
 * The errors `script` answers `paths` with when run without the agent, by path (errorIdentity):
 * what the traced run must hand the app unchanged.
 */
export async function untracedErrors(script: string, env: Record<string, string>, paths: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
  // The fixtures import @xray/agent (for getSegment), and an import starts the agent: off, explicitly.
  const plain = await spawnApp({ script, loader: 'none', env: { ...env, AWS_XRAY_SDK_ENABLED: 'false' } });
  const errors = new Map<string, Record<string, unknown>>();
  try {
    for (const p of paths) errors.set(p, errorIdentity((await call(plain, p)).body.error));
  } finally {
    await plain.stop();
  }
  return errors;
}

/** The first exception recorded on a subsegment. */
export function firstException(sub: XrayEntity): { message?: string; type?: string } | undefined {
  const cause = sub.cause as { exceptions?: Array<{ message?: string; type?: string }> } | undefined;
  return typeof cause === 'object' ? cause.exceptions?.[0] : undefined;
}

/**
 * Sends `n` requests at once, each in its own trace, to `path(i)`; returns for each its trace,
 * the app's answer and the SQL subsegments found in that trace's segment.
 */
export async function concurrentCalls(
  daemon: UdpDaemon,
  app: RunningApp,
  n: number,
  path: (i: number) => string,
): Promise<Array<{ root: string; res: RouteResult; sql: XrayEntity[] }>> {
  const roots = Array.from({ length: n }, () => newRoot());
  const answers = await Promise.all(roots.map((root, i) => call(app, path(i), root)));
  const docs = await daemon.waitFor((d) => roots.every((r) => segmentOf(d, r) !== undefined), 20_000);
  return roots.map((root, i) => ({ root, res: answers[i], sql: sqlSubsegments(segmentOf(docs, root)!) }));
}
