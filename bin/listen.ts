// `xray-agent listen`: a local stand-in for the X-Ray daemon that prints what the agent sends.
// startListener() is the reusable part (tests run it in-process); run() is the command-line
// wrapper the dispatcher in xray-agent.ts calls. Signal handlers are fine here: this is our own
// process, never the user's app.

import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { parseArgs } from 'node:util';
import { parseDatagram } from './datagram';
import { startSamplingStub, type SamplingStub } from './sampling-stub';
import { formatTrace } from './trace-printer';
import { entityName, traceKey, walkEntities } from './trace-tree';
import type { XrayDocument } from './xray-document';

export interface ListenerOptions {
  /** Default 127.0.0.1 (the daemon's own default). */
  host?: string;
  /** Default 2000; 0 picks a free port (see the returned `port`). */
  port?: number;
  /** Append every accepted document to this file, one compact JSON object per line. */
  ndjson?: string;
  /** Print a trace once no document for it arrived for this long. Default 300. */
  quietMs?: number;
  /** Default process.stdout. */
  out?: NodeJS.WritableStream;
  /** Default: only when `out` is a TTY that supports colour (honours NO_COLOR / FORCE_COLOR). */
  color?: boolean;
  /** Also answer the sampling requests on TCP at the same port (default true; see sampling-stub.ts). */
  samplingStub?: boolean;
}

export interface Listener {
  port: number;
  /** TCP port answering sampling requests, or undefined when off or the port was taken. */
  samplingPort?: number;
  /** Prints traces still waiting for their quiet period, then releases the socket and file. */
  close(): Promise<void>;
}

// Bounds (this runs for hours on a developer machine): a trace that never goes quiet is still
// printed, and memory of already-printed traces, used to name the parents of late streamed
// subsegments, is capped.
const MAX_HOLD_MS = 5000;
const MAX_PENDING_DOCS = 1000;
const MAX_REMEMBERED_TRACES = 1000;
const MAX_REMEMBERED_NAMES = 10000;
const RECV_BUFFER_BYTES = 4 * 1024 * 1024;
const MAX_FREE_PORT_ATTEMPTS = 10;

interface Pending {
  docs: XrayDocument[];
  firstAt: number;
  timer: NodeJS.Timeout;
}

export async function startListener(opts: ListenerOptions = {}): Promise<Listener> {
  const host = stripBrackets(opts.host ?? '127.0.0.1');
  const quietMs = opts.quietMs ?? 300;
  const out = opts.out ?? process.stdout;
  const color = opts.color ?? supportsColor(out);

  // Opened before binding so a bad path fails start-up with the file's own error message.
  const ndjson = opts.ndjson === undefined ? undefined : fs.createWriteStream(opts.ndjson, { fd: fs.openSync(opts.ndjson, 'a') });

  // With port 0 the OS picks a free UDP port, and the same TCP port may be in use by someone
  // else: take another free port a few times before giving up the sampling stub.
  const anyPort = opts.port === 0;
  let socket: dgram.Socket;
  let stub: SamplingStub | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      socket = await bindUdp(host, opts.port ?? 2000);
    } catch (err) {
      ndjson?.end();
      throw err;
    }
    if (opts.samplingStub === false) break;
    stub = await startSamplingStub(host, socket.address().port);
    if (stub || !anyPort || attempt === MAX_FREE_PORT_ATTEMPTS) break;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
  try {
    // Agents send bursts (a whole request's worth of documents at once); the OS default
    // buffer can drop some. Linux silently caps this at net.core.rmem_max.
    socket.setRecvBufferSize(RECV_BUFFER_BYTES);
  } catch {
    // Best effort only.
  }

  const pending = new Map<string, Pending>();
  const printed = new Map<string, Map<string, string>>(); // trace id → entity id → name

  const write = (text: string): void => {
    out.write(text);
  };

  const flush = (key: string): void => {
    const p = pending.get(key);
    if (!p) return;
    clearTimeout(p.timer);
    pending.delete(key);
    const known = printed.get(key);
    write(formatTrace(p.docs, { color, continuation: known !== undefined, knownNames: known }) + '\n');
    remember(key, p.docs);
  };

  const remember = (key: string, docs: readonly XrayDocument[]): void => {
    const names = printed.get(key) ?? new Map<string, string>();
    printed.delete(key); // re-insert: Map order doubles as least-recently-printed order
    printed.set(key, names);
    for (const doc of docs) {
      walkEntities(doc, (e) => {
        if (typeof e.id === 'string' && names.size < MAX_REMEMBERED_NAMES) names.set(e.id, entityName(e));
      });
    }
    while (printed.size > MAX_REMEMBERED_TRACES) printed.delete(printed.keys().next().value as string);
  };

  socket.on('message', (msg, rinfo) => {
    const parsed = parseDatagram(msg);
    if ('error' in parsed) {
      write(`rejected datagram from ${rinfo.address}:${rinfo.port} (${msg.length} bytes): ${parsed.error}\n`);
      return;
    }
    // Re-serialized rather than copied verbatim so each document is guaranteed to be one line.
    ndjson?.write(JSON.stringify(parsed.doc) + '\n');

    const key = traceKey(parsed.doc);
    const now = Date.now();
    let p = pending.get(key);
    if (p) clearTimeout(p.timer);
    else pending.set(key, (p = { docs: [], firstAt: now, timer: undefined as unknown as NodeJS.Timeout }));
    p.docs.push(parsed.doc);
    if (p.docs.length >= MAX_PENDING_DOCS) {
      flush(key);
      return;
    }
    const wait = Math.max(0, Math.min(quietMs, p.firstAt + MAX_HOLD_MS - now));
    p.timer = setTimeout(() => flush(key), wait);
  });
  // After a successful bind, socket errors are rare (ICMP noise on some systems); report and go on.
  socket.on('error', (err) => write(`listener socket error: ${err.message}\n`));

  const udpPort = socket.address().port;

  let closing: Promise<void> | undefined;
  return {
    port: udpPort,
    samplingPort: stub?.port,
    close() {
      closing ??= (async () => {
        await stub?.close();
        socket.removeAllListeners('message');
        for (const key of [...pending.keys()]) flush(key);
        await new Promise<void>((resolve) => socket.close(() => resolve()));
        if (ndjson) await new Promise<void>((resolve) => ndjson.end(() => resolve()));
      })();
      return closing;
    },
  };
}

function bindUdp(host: string, port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', (err) => {
      socket.close();
      reject(err);
    });
    socket.bind(port, host, () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

export const usage = `Usage: xray-agent listen [--host H] [--port P] [--ndjson FILE] [--quiet-ms MS]

Listens for X-Ray segment documents on UDP, like the X-Ray daemon, and prints each trace as a
tree. Point an app at it with AWS_XRAY_DAEMON_ADDRESS=<host>:<port>. On TCP at the same port it
answers the daemon's sampling requests with one rule that samples every request.

  --host H        address to bind (default 127.0.0.1)
  --port P        UDP port (default 2000)
  --ndjson FILE   also append every document to FILE, one JSON object per line
  --quiet-ms MS   print a trace after MS ms without new documents for it (default 300)
  -h, --help      show this help
`;

/** Entry point for `xray-agent listen ...`; resolves with the process exit code. */
export async function run(argv: string[]): Promise<number> {
  let values: { host?: string; port?: string; ndjson?: string; 'quiet-ms'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        host: { type: 'string' },
        port: { type: 'string', short: 'p' },
        ndjson: { type: 'string' },
        'quiet-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`xray-agent listen: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const port = values.port === undefined ? 2000 : parseIntOption(values.port, 65535);
  const quietMs = values['quiet-ms'] === undefined ? 300 : parseIntOption(values['quiet-ms'], 3_600_000);
  if (port === undefined || quietMs === undefined) {
    process.stderr.write(`xray-agent listen: --port and --quiet-ms take a whole number\n\n${usage}`);
    return 2;
  }
  const host = values.host ?? '127.0.0.1';

  let listener: Listener;
  try {
    listener = await startListener({ host, port, ndjson: values.ndjson, quietMs });
  } catch (err) {
    process.stderr.write(`xray-agent listen: cannot listen on udp ${host}:${port}: ${(err as Error).message}\n`);
    return 1;
  }
  const shown = net.isIPv6(stripBrackets(host)) ? `[${stripBrackets(host)}]:${listener.port}` : `${host}:${listener.port}`;
  process.stderr.write(
    `xray-agent listen: listening on udp ${shown}` +
      (values.ndjson ? `, appending documents to ${values.ndjson}` : '') +
      (listener.samplingPort !== undefined
        ? `\n  answering sampling rule requests on tcp ${shown} (every request is sampled)`
        : `\n  tcp ${shown} is taken: sampling rules are not served (apps fall back to local rules)`) +
      `\n  run your app with AWS_XRAY_DAEMON_ADDRESS=${shown} (Ctrl-C to stop)\n`,
  );

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await listener.close();
  return 0;
}

function parseIntOption(text: string, max: number): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function supportsColor(out: NodeJS.WritableStream): boolean {
  const tty = out as NodeJS.WritableStream & { isTTY?: boolean; hasColors?: () => boolean };
  return tty.isTTY === true && typeof tty.hasColors === 'function' && tty.hasColors();
}
