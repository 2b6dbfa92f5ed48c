// Runs a fixture app the way a user runs it: a separate `node` with the agent preloaded
// (--require / --import / NODE_OPTIONS), in a clean environment so the test runner's own
// variables (NODE_OPTIONS, NODE_TEST_CONTEXT, AWS_*) never leak into what is being tested.
// Fixture protocol: an app that serves HTTP prints one line `LISTENING <port>` on stdout.

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

export type Loader = 'require' | 'import' | 'both' | 'none' | 'node-options';

export interface SpawnOptions {
  /** Absolute, or relative to test/fixtures (falls back to dist/test/fixtures, .ts → .js). */
  script: string;
  /** How the agent is preloaded. Default 'require'. */
  loader?: Loader;
  /** Added to the clean environment (PATH, HOME). AWS_XRAY_LOG_LEVEL is not set unless given. */
  env?: Record<string, string>;
  /** Arguments for the script. */
  args?: string[];
  /** Extra flags for node itself, placed before the loader flags. */
  nodeArgs?: string[];
  /** Working directory. Default: the script's directory. */
  cwd?: string;
  /** spawnApp: wait for `LISTENING <port>` (default true). */
  waitForPort?: boolean;
}

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningApp {
  /** From `LISTENING <port>`; 0 when waitForPort is false. */
  port: number;
  pid: number | undefined;
  /** `http://127.0.0.1:<port><path>`. */
  url(path?: string): string;
  readonly stdout: string;
  readonly stderr: string;
  /** Settles when the process has exited and its output is fully read. */
  exited: Promise<ExitResult>;
  kill(signal?: NodeJS.Signals): boolean;
  /** SIGTERM, then SIGKILL if still running after 5 s; resolves once it has exited. */
  stop(): Promise<ExitResult>;
}

export interface RunResult extends ExitResult {
  stdout: string;
  stderr: string;
  durationMs: number;
}

const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;

/** The repository root, from this file's compiled location dist/test/helpers. */
export function repoRoot(): string {
  return path.resolve(__dirname, '..', '..', '..');
}

export async function spawnApp(opts: SpawnOptions): Promise<RunningApp> {
  const started = start(opts);
  const { child, output } = started;
  const app: RunningApp = {
    port: 0,
    pid: child.pid,
    url: (p = '/') => {
      if (!app.port) throw new Error('spawnApp: no port known (waitForPort was false)');
      return `http://127.0.0.1:${app.port}${p.startsWith('/') ? p : '/' + p}`;
    },
    get stdout() {
      return output.stdout;
    },
    get stderr() {
      return output.stderr;
    },
    exited: started.exited,
    kill: (signal = 'SIGTERM') => child.kill(signal),
    stop: () => stopChild(child, started.exited),
  };
  if (opts.waitForPort === false) return app;

  app.port = await new Promise<number>((resolve, reject) => {
    let done = false;
    const finish = (err: Error | undefined, port?: number): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      if (err) reject(err);
      else resolve(port as number);
    };
    const onData = (): void => {
      const m = /^LISTENING (\d+)\s*$/m.exec(output.stdout);
      if (m) finish(undefined, Number(m[1]));
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`spawnApp: ${started.script} printed no "LISTENING <port>" within ${READY_TIMEOUT_MS} ms${describeOutput(output)}`));
    }, READY_TIMEOUT_MS);
    child.stdout?.on('data', onData);
    started.exited.then(({ code, signal }) =>
      finish(new Error(`spawnApp: ${started.script} exited (code ${code}, signal ${signal}) before "LISTENING <port>"${describeOutput(output)}`)),
    );
    onData();
  });
  return app;
}

/** Runs a script that exits by itself; rejects (after SIGKILL) if it runs past timeoutMs. */
export async function runToExit(opts: SpawnOptions, timeoutMs = 15_000): Promise<RunResult> {
  const t0 = performance.now();
  const { child, output, exited, script } = start(opts);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const { code, signal } = await exited;
  clearTimeout(timer);
  const durationMs = performance.now() - t0;
  if (timedOut) {
    throw new Error(`runToExit: ${script} still running after ${timeoutMs} ms, killed${describeOutput(output)}`);
  }
  return { code, signal, stdout: output.stdout, stderr: output.stderr, durationMs };
}

export interface HttpRequestOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string | Buffer;
  /** Default false: a fresh connection per request, so requests never share a socket by accident. */
  agent?: http.Agent | false;
  /** Default 10 s. */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Plain node:http client (not fetch), so the test process never goes through undici. */
export function httpRequest(url: string | URL, opts: HttpRequestOptions = {}): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent ?? false, timeout: opts.timeoutMs ?? 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`httpRequest: no response from ${String(url)} within ${opts.timeoutMs ?? 10_000} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

interface Started {
  child: ChildProcess;
  output: { stdout: string; stderr: string };
  exited: Promise<ExitResult>;
  script: string;
}

// Children still running when the test process exits (a failed test that skipped its stop())
// would otherwise outlive the run and hold ports.
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function start(opts: SpawnOptions): Started {
  const script = resolveScript(opts.script);
  const register = path.join(repoRoot(), 'register.js');
  // What `--import @xray/agent` resolves to (package.json "exports", condition "import").
  const registerEsm = path.join(repoRoot(), 'register.mjs');
  const loader = opts.loader ?? 'require';

  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME'] as const) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  Object.assign(env, opts.env);

  const flags = [...(opts.nodeArgs ?? [])];
  if (loader === 'require' || loader === 'both') flags.push('--require', register);
  // --import takes a URL-style specifier; a file URL is unambiguous on every platform.
  if (loader === 'import' || loader === 'both') flags.push('--import', pathToFileURL(registerEsm).href);
  if (loader === 'node-options') {
    const quoted = /[\s"\\]/.test(register) ? `"${register.replace(/(["\\])/g, '\\$1')}"` : register;
    env.NODE_OPTIONS = [`--require ${quoted}`, env.NODE_OPTIONS].filter(Boolean).join(' ');
  }

  const child = spawn(process.execPath, [...flags, script, ...(opts.args ?? [])], {
    cwd: opts.cwd ?? path.dirname(script),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const output = { stdout: '', stderr: '' };
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (output.stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (output.stderr += s));
  // 'close' (not 'exit'): fires after stdout/stderr have been fully read.
  const exited = new Promise<ExitResult>((resolve) => {
    child.once('error', (err) => {
      output.stderr += `\n[spawn error] ${err.message}\n`;
    });
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, output, exited, script };
}

async function stopChild(child: ChildProcess, exited: Promise<ExitResult>): Promise<ExitResult> {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  const result = await exited;
  clearTimeout(timer);
  return result;
}

function resolveScript(script: string): string {
  if (path.isAbsolute(script)) return script;
  const root = repoRoot();
  const candidates = [
    path.join(root, 'test', 'fixtures', script),
    path.join(root, 'dist', 'test', 'fixtures', script.replace(/\.([cm]?)ts$/, '.$1js')),
  ];
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) throw new Error(`spawnApp: fixture not found: ${script} (looked at ${candidates.join(', ')})`);
  return found;
}

function describeOutput(output: { stdout: string; stderr: string }): string {
  const tail = (s: string): string => (s.length > 4000 ? '…' + s.slice(-4000) : s);
  return `\n--- stderr ---\n${tail(output.stderr)}\n--- stdout ---\n${tail(output.stdout)}`;
}
