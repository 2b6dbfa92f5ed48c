// Global fetch (Node's bundled undici) and the `undici` package, through undici's diagnostics
// channels, which every undici copy publishes under the same names:
//   undici:request:create   → subsegment + trace header (request.addHeader, before it is sent)
//   undici:request:headers  → status and content length
//   undici:request:trailers → end (the body has been read)
//   undici:request:error    → cause, end

import diagnostics from 'node:diagnostics_channel';
import type { BuiltinInstrumentation, InstrumentationHost } from '../../agent/instrumentation';
import type { Subsegment } from '../../agent/model/entity';
import { parseContentLength } from '../../agent/spans/http-client';
import { log } from '../../agent/log';

const SUBSEGMENT = Symbol('xray.subsegment');

interface UndiciRequest {
  origin: string | URL;
  method: string;
  path: string;
  headers: string[] | string;
  addHeader(name: string, value: string): unknown;
  [SUBSEGMENT]?: Subsegment;
}

interface UndiciResponse {
  statusCode: number;
  headers: Array<Buffer | string>;
}

let host: InstrumentationHost | undefined;

function onCreate(message: unknown): void {
  const h = host;
  if (h === undefined) return;
  const req = (message as { request: UndiciRequest }).request;
  try {
    const origin = typeof req.origin === 'string' ? new URL(req.origin) : req.origin;
    const existing = findHeader(req.headers, 'x-amzn-trace-id');
    const started = h.httpClient.start({
      method: req.method,
      scheme: origin.protocol.slice(0, -1),
      host: origin.host,
      path: req.path,
      existingTraceHeader: existing,
    });
    if (started.traceHeader !== undefined) {
      // A header of this trace the caller already set (e.g. an app forwarding the incoming one) is
      // refreshed in place: addHeader appends, and the upstream would get both values joined.
      if (existing === undefined || !replaceHeader(req, 'x-amzn-trace-id', started.traceHeader)) {
        req.addHeader('X-Amzn-Trace-Id', started.traceHeader);
      }
    }
    if (started.subsegment !== undefined) req[SUBSEGMENT] = started.subsegment;
  } catch (err) {
    log.once('fetch.create', 'error', 'fetch instrumentation failed on a request; it runs untraced', { error: String(err) });
  }
}

function onHeaders(message: unknown): void {
  const { request, response } = message as { request: UndiciRequest; response: UndiciResponse };
  const sub = request[SUBSEGMENT];
  if (sub === undefined || host === undefined) return;
  try {
    const length = findHeader(response.headers, 'content-length');
    host.httpClient.response(sub, response.statusCode, parseContentLength(length));
  } catch (err) {
    log.once('fetch.headers', 'error', 'fetch instrumentation failed on a response', { error: String(err) });
  }
}

function onTrailers(message: unknown): void {
  end((message as { request: UndiciRequest }).request, undefined);
}

function onError(message: unknown): void {
  const { request, error } = message as { request: UndiciRequest; error: unknown };
  end(request, error ?? new Error('request failed'));
}

function end(request: UndiciRequest, error: unknown): void {
  const sub = request[SUBSEGMENT];
  if (sub === undefined || host === undefined) return;
  request[SUBSEGMENT] = undefined;
  try {
    if (error !== undefined) host.httpClient.error(sub, error);
    host.httpClient.end(sub);
  } catch (err) {
    log.once('fetch.end', 'error', 'fetch instrumentation failed to end a subsegment', { error: String(err) });
  }
}

/**
 * Sets the value of an existing header on undici's Request (its own copy of the caller's headers,
 * built in its constructor, so the caller's options are untouched). False when not found.
 */
function replaceHeader(req: UndiciRequest, lowerName: string, value: string): boolean {
  const headers = req.headers;
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = headers[i];
      if (typeof name === 'string' && name.toLowerCase() === lowerName) {
        headers[i + 1] = value;
        return true;
      }
    }
    return false;
  }
  if (typeof headers === 'string') {
    // 'name: value\r\n' lines: the form of undici 6.0 and other early 6.x releases.
    const lines = headers.split('\r\n');
    const at = lines.findIndex((l) => l.slice(0, l.indexOf(':')).trim().toLowerCase() === lowerName);
    if (at === -1) return false;
    lines[at] = `${lines[at].slice(0, lines[at].indexOf(':'))}: ${value}`;
    req.headers = lines.join('\r\n');
    return true;
  }
  return false;
}

/** Header lookup in undici's flat [name, value, name, value…] arrays (or its older string form). */
function findHeader(headers: Array<Buffer | string> | string | undefined, lowerName: string): string | undefined {
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = headers[i];
      const n = typeof name === 'string' ? name : name.toString('latin1');
      if (n.length === lowerName.length && n.toLowerCase() === lowerName) return String(headers[i + 1]);
    }
    return undefined;
  }
  if (typeof headers === 'string') {
    for (const line of headers.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon !== -1 && line.slice(0, colon).trim().toLowerCase() === lowerName) return line.slice(colon + 1).trim();
    }
  }
  return undefined;
}

const CHANNELS: Array<[string, (m: unknown) => void]> = [
  ['undici:request:create', onCreate],
  ['undici:request:headers', onHeaders],
  ['undici:request:trailers', onTrailers],
  ['undici:request:error', onError],
];

export const fetchInstrumentation: BuiltinInstrumentation = {
  name: 'fetch',
  target: 'global fetch and undici (diagnostics_channel undici:request:*)',
  install(h: InstrumentationHost): void {
    host = h;
    for (const [name, fn] of CHANNELS) diagnostics.subscribe(name, fn);
  },
  uninstall(): void {
    host = undefined;
    for (const [name, fn] of CHANNELS) diagnostics.unsubscribe(name, fn);
  },
};
