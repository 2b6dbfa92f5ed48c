// `npm run demo`: the whole agent in a few seconds, with nothing to set up. Starts a listener
// (what `xray-agent listen` runs) on a free UDP port and the demo's inventory upstream in this
// process, runs examples/demo/app.js under the agent (`node --require <repo>/register.js`),
// sends it three requests and prints each request with the trace the agent sent for it. Then
// stops everything: exit 0, or 1 with a message saying what went wrong.
//
// This process is not run under the agent: only the app is traced.

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { startListener, type Listener } from './listen';

const REQUESTS = ['/', '/checkout', '/fail'];
const SERVICE_NAME = 'demo-shop';
const SAMPLE_EVERYTHING = JSON.stringify({ version: 2, default: { fixed_target: 0, rate: 1 } });
/** The listener prints a trace once no document arrived for it for this long. */
const QUIET_MS = 150;
const APP_START_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 5_000;
const TRACE_TIMEOUT_MS = 3_000;
const STOP_GRACE_MS = 2_000;
/** Last resort: whatever hangs, the demo ends (and takes its child with it). */
const WATCHDOG_MS = 30_000;

interface Inventory {
  url: string;
  close(): Promise<void>;
}

class DemoError extends Error {}

const out = process.stdout;
const color = supportsColor(out);
const sgr = (open: number, close: number) => (s: string) => (color ? `\u001b[${open}m${s}\u001b[${close}m` : s);
const bold = sgr(1, 22);
const dim = sgr(2, 22);
const red = sgr(31, 39);
const green = sgr(32, 39);
const yellow = sgr(33, 39);
const cyan = sgr(36, 39);

/** Everything the listener printed so far, to see when a trace has shown up. */
let printed = '';
let tracesPrinted = 0;
const printedChanged = new Set<() => void>();

let app: ChildProcess | undefined;

async function main(): Promise<number> {
  const root = path.resolve(__dirname, '..', '..'); // dist/bin → repository root
  const register = path.join(root, 'register.js');
  const appScript = path.join(root, 'examples', 'demo', 'app.js');
  const inventoryScript = path.join(root, 'examples', 'demo', 'inventory.js');
  for (const file of [register, appScript, inventoryScript]) {
    if (!fs.existsSync(file)) throw new DemoError(`${path.relative(process.cwd(), file) || file} is missing: run the demo from a checkout of the repository`);
  }

  out.write(
    `\n${bold('@xray/agent demo')}: runs ${bold('examples/demo/app.js')} under the agent, sends it ${REQUESTS.length} requests\n` +
      `and prints the trace the agent sent for each (what ${bold('xray-agent listen')} shows).\n\n`,
  );

  let listener: Listener | undefined;
  let inventory: Inventory | undefined;
  try {
    listener = await startListener({ host: '127.0.0.1', port: 0, quietMs: QUIET_MS, out: tee(), color });
    const { startInventory } = require(inventoryScript) as { startInventory(port?: number): Promise<Inventory> };
    inventory = await startInventory(0);

    const daemon = `127.0.0.1:${listener.port}`;
    const env: NodeJS.ProcessEnv = {
      // The user's own AWS_XRAY_* settings (disabled, another daemon, ...) would change the demo.
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_XRAY_'))),
      AWS_XRAY_DAEMON_ADDRESS: daemon,
      AWS_XRAY_TRACING_NAME: SERVICE_NAME,
      AWS_XRAY_SAMPLING_RULES: SAMPLE_EVERYTHING,
      // Every request sampled by the local rule above; no polling the daemon for rules (the
      // listener only takes UDP documents, it has no sampling API).
      AWS_XRAY_CENTRALIZED_SAMPLING: 'false',
      INVENTORY_URL: inventory.url,
    };
    out.write(
      dim(`$ AWS_XRAY_DAEMON_ADDRESS=${daemon} AWS_XRAY_TRACING_NAME=${SERVICE_NAME} \\`) +
        '\n' +
        dim(`  AWS_XRAY_SAMPLING_RULES='${SAMPLE_EVERYTHING}' \\`) +
        '\n' +
        dim(`  AWS_XRAY_CENTRALIZED_SAMPLING=false INVENTORY_URL=${inventory.url} \\`) +
        '\n' +
        dim('  node --require @xray/agent examples/demo/app.js') +
        '\n',
    );
    const port = await startApp(register, appScript, root, env);
    out.write(dim(`  listening on http://127.0.0.1:${port}, inventory upstream on ${inventory.url}`) + '\n\n');

    for (const p of REQUESTS) {
      const before = tracesPrinted;
      const res = await get(`http://127.0.0.1:${port}${p}`);
      out.write(`${cyan('→')} ${bold(`GET ${p}`)}  ${statusColour(res.status)(String(res.status))}  ${dim(res.body.slice(0, 100))}\n`);
      // The app names its trace in the response header (Root=1-…); without it, any new trace counts.
      const root = /Root=(1-[0-9a-f]{8}-[0-9a-f]{24})/.exec(String(res.headers['x-amzn-trace-id'] ?? ''))?.[1];
      const arrived = await waitForPrinted(() => (root ? printed.includes(`trace ${root}`) : tracesPrinted > before), TRACE_TIMEOUT_MS);
      if (!arrived) {
        // One lost trace means something is wrong; waiting for the others would only add seconds.
        throw new DemoError(
          `no trace arrived at the listener (udp ${daemon}) within ${TRACE_TIMEOUT_MS / 1000} s of the response to GET ${p}.` + appOutputHint(),
        );
      }
    }

    out.write(
      `${green('✓')} ${REQUESTS.length} requests, ${REQUESTS.length} traces. ${bold('To trace your own service')}:\n` +
        `    ${cyan('npx xray-agent listen')}                ${dim('# terminal 1: prints traces, like above')}\n` +
        `    ${cyan('node --require @xray/agent app.js')}    ${dim('# terminal 2: your app, unchanged')}\n` +
        dim(`  (both default to udp 127.0.0.1:2000; AWS_XRAY_TRACING_NAME names the service)`) +
        '\n\n',
    );
    return 0;
  } finally {
    await stopApp();
    await listener?.close();
    await inventory?.close();
  }
}

/** A stream that passes the listener's output to stdout and remembers it. */
function tee(): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      const text = chunk.toString();
      out.write(text);
      printed += text;
      tracesPrinted += (text.match(/^(?:\u001b\[1m)?trace /gm) ?? []).length;
      for (const f of printedChanged) f();
      callback();
    },
  });
}

function waitForPrinted(done: () => boolean, timeoutMs: number): Promise<boolean> {
  if (done()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      printedChanged.delete(check);
      resolve(ok);
    };
    const check = (): void => {
      if (done()) finish(true);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    printedChanged.add(check);
  });
}

let appStdout = '';
let appStderr = '';

/** Spawns the app under the agent; resolves with the port from its `LISTENING <port>` line. */
function startApp(register: string, script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(process.execPath, ['--require', register, script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  app = child;
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    appStdout += s;
  });
  // Whatever the app or the agent says on stderr is shown as it comes, marked as theirs.
  let partial = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    appStderr += s;
    const lines = (partial + s).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) process.stderr.write(`${yellow('app stderr │')} ${line}\n`);
  });
  child.stderr.on('end', () => {
    if (partial) process.stderr.write(`${yellow('app stderr │')} ${partial}\n`);
  });

  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new DemoError(`the app printed no "LISTENING <port>" within ${APP_START_TIMEOUT_MS / 1000} s.` + appOutputHint()));
    }, APP_START_TIMEOUT_MS);
    const onData = (): void => {
      const m = /^LISTENING (\d+)\s*$/m.exec(appStdout);
      if (m) {
        cleanup();
        resolve(Number(m[1]));
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup();
      reject(new DemoError(`the app exited (${signal ?? `code ${code}`}) before it was ready.` + appOutputHint()));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new DemoError(`could not start the app: ${err.message}`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('close', onExit);
      child.off('error', onError);
    };
    child.stdout.on('data', onData);
    child.once('close', onExit); // 'close': after its output was fully read
    child.once('error', onError);
  });
}

/** SIGTERM, then SIGKILL after a grace period; resolves once the app is gone. */
async function stopApp(): Promise<void> {
  const child = app;
  if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await gone;
  clearTimeout(timer);
}

/** What the app printed, for error messages (its stderr was already shown as it came). */
function appOutputHint(): string {
  const tail = (s: string): string => (s.length > 2000 ? '…' + s.slice(-2000) : s).trimEnd();
  const stdout = appStdout.replace(/^LISTENING \d+\s*$/m, '').trim();
  const parts: string[] = [];
  if (appStderr.trim()) parts.push(' See the app\'s stderr above.');
  if (stdout) parts.push(`\napp stdout:\n${tail(stdout)}`);
  return parts.length ? parts.join('') : ' The app printed nothing.';
}

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Plain node:http GET on a fresh connection (nothing kept alive to hold the process open). */
function get(url: string): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new DemoError(`GET ${url}: no response within ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on('error', (err) => reject(err instanceof DemoError ? err : new DemoError(`GET ${url} failed: ${err.message}`)));
  });
}

function statusColour(status: number): (s: string) => string {
  if (status >= 500) return red;
  if (status >= 400) return yellow;
  return green;
}

function supportsColor(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && typeof stream.hasColors === 'function' && stream.hasColors();
}

if (require.main === module) {
  // Never leave the app behind, however this process ends.
  process.on('exit', () => {
    if (app && app.exitCode === null && app.signalCode === null) app.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\ndemo: interrupted\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143); // the 'exit' handler stops the app
    });
  }
  const watchdog = setTimeout(() => {
    process.stderr.write(red(`demo: still running after ${WATCHDOG_MS / 1000} s, giving up\n`));
    process.exit(1);
  }, WATCHDOG_MS);
  watchdog.unref();

  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      const message = err instanceof DemoError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
      process.stderr.write(`\n${red('demo failed')}: ${message}\n`);
      process.exitCode = 1;
    },
  );
}
