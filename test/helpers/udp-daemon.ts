// The UDP stand-in for the X-Ray daemon that end-to-end tests point the agent at
// (AWS_XRAY_DAEMON_ADDRESS=daemon.address). It records every datagram raw (for size checks),
// parses it with the daemon's own rules, and lets a test wait for the documents it expects.
// Parsing and tree assembly are shared with `xray-agent listen` (bin/), not duplicated here.

import * as dgram from 'node:dgram';
import { parseDatagram } from '../../bin/datagram';
import { assembleTraces, type TraceNode } from '../../bin/trace-tree';
import type { XrayDocument } from '../../bin/xray-document';

export { parseDatagram, type DatagramHeader, type ParsedDatagram } from '../../bin/datagram';
export { assembleTraces, findSubsegments, walkEntities, type TraceNode } from '../../bin/trace-tree';
export type { XrayCause, XrayDocument, XrayEntity, XrayException, XrayHttp, XraySql } from '../../bin/xray-document';

export interface RejectedDatagram {
  reason: string;
  raw: Buffer;
}

export interface UdpDaemon {
  port: number;
  /** `127.0.0.1:<port>`, the value for AWS_XRAY_DAEMON_ADDRESS. */
  address: string;
  /** Every datagram received, accepted or not, in arrival order. */
  datagrams: Buffer[];
  /** Parsed bodies of the accepted datagrams, in arrival order. */
  documents: XrayDocument[];
  /** Datagrams the real daemon would refuse (bad header, no body) or the service could not read. */
  rejected: RejectedDatagram[];
  /**
   * Resolves with a snapshot of `documents` as soon as `predicate(documents)` holds (checked now
   * and after every datagram). A predicate that throws counts as "not yet"; its last error is
   * quoted in the timeout message.
   */
  waitFor(predicate: (docs: readonly XrayDocument[]) => boolean, timeoutMs?: number): Promise<XrayDocument[]>;
  waitForCount(n: number, timeoutMs?: number): Promise<XrayDocument[]>;
  /** Documents that are not independent subsegments. */
  segments(): XrayDocument[];
  /** assembleTraces(documents): trace id → root nodes with streamed subsegments attached. */
  traces(): Map<string, TraceNode[]>;
  /** Forgets everything received so far (arrays are emptied in place). */
  clear(): void;
  /** Closes the socket; pending waitFor calls reject. Safe to call twice. */
  close(): Promise<void>;
}

interface Waiter {
  predicate: (docs: readonly XrayDocument[]) => boolean;
  resolve: (docs: XrayDocument[]) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  lastError?: unknown;
}

export async function startUdpDaemon(): Promise<UdpDaemon> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  try {
    // Agents send a request's documents in a burst while the test process may be busy;
    // a larger buffer keeps the kernel from dropping them (capped by rmem_max on Linux).
    socket.setRecvBufferSize(4 * 1024 * 1024);
  } catch {
    // Best effort only.
  }
  // A test that forgets close() must not keep its test file alive forever. waitFor's own timer
  // keeps the loop running while a test is actually waiting for datagrams.
  socket.unref();

  const port = socket.address().port;
  const datagrams: Buffer[] = [];
  const documents: XrayDocument[] = [];
  const rejected: RejectedDatagram[] = [];
  const waiters = new Set<Waiter>();
  let closed = false;

  const check = (w: Waiter): void => {
    let ok = false;
    try {
      ok = w.predicate(documents);
    } catch (err) {
      w.lastError = err;
    }
    if (!ok) return;
    waiters.delete(w);
    clearTimeout(w.timer);
    w.resolve(documents.slice());
  };

  socket.on('message', (msg) => {
    datagrams.push(msg);
    const parsed = parseDatagram(msg);
    if ('error' in parsed) {
      rejected.push({ reason: parsed.error, raw: msg });
    } else {
      documents.push(parsed.doc);
    }
    for (const w of [...waiters]) check(w);
  });

  const waitFor: UdpDaemon['waitFor'] = (predicate, timeoutMs = 5000) =>
    new Promise<XrayDocument[]>((resolve, reject) => {
      if (closed) {
        reject(new Error('udp-daemon: waitFor called after close()'));
        return;
      }
      const w: Waiter = { predicate, resolve, reject, timer: undefined as unknown as NodeJS.Timeout };
      w.timer = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(timeoutMessage(timeoutMs, documents, rejected, w.lastError)));
      }, timeoutMs);
      waiters.add(w);
      check(w);
    });

  return {
    port,
    address: `127.0.0.1:${port}`,
    datagrams,
    documents,
    rejected,
    waitFor,
    waitForCount: (n, timeoutMs) => waitFor((docs) => docs.length >= n, timeoutMs),
    segments: () => documents.filter((d) => d.type !== 'subsegment'),
    traces: () => assembleTraces(documents),
    clear() {
      datagrams.length = 0;
      documents.length = 0;
      rejected.length = 0;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const w of waiters) {
        clearTimeout(w.timer);
        w.reject(new Error('udp-daemon: closed while waiting for documents'));
      }
      waiters.clear();
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

const DUMP_MAX_DOCS = 20;

function timeoutMessage(
  timeoutMs: number,
  docs: readonly XrayDocument[],
  rejected: readonly RejectedDatagram[],
  lastError: unknown,
): string {
  const lines = [
    `udp-daemon: waitFor timed out after ${timeoutMs} ms; ${docs.length} document(s) arrived` +
      (rejected.length ? `, ${rejected.length} datagram(s) rejected` : ''),
  ];
  docs.slice(0, DUMP_MAX_DOCS).forEach((d, i) => lines.push(`  [${i}] ${summarize(d)}`));
  if (docs.length > DUMP_MAX_DOCS) lines.push(`  … ${docs.length - DUMP_MAX_DOCS} more`);
  for (const r of rejected.slice(0, 5)) lines.push(`  rejected: ${r.reason}`);
  if (lastError !== undefined) {
    lines.push(`  last predicate error: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
  }
  return lines.join('\n');
}

/** One line per document: enough to see what arrived without drowning the test output. */
function summarize(d: XrayDocument): string {
  const kind = d.type === 'subsegment' ? 'subsegment' : 'segment';
  const parts = [`${kind} ${JSON.stringify(d.name)}`, `id=${String(d.id)}`, `trace=${String(d.trace_id)}`];
  if (d.parent_id !== undefined) parts.push(`parent=${String(d.parent_id)}`);
  if (d.in_progress === true) parts.push('in_progress');
  const status = d.http?.response?.status;
  if (status !== undefined) parts.push(`status=${String(status)}`);
  for (const flag of ['error', 'throttle', 'fault'] as const) if (d[flag] === true) parts.push(flag);
  if (Array.isArray(d.subsegments)) {
    parts.push(`subsegments=[${d.subsegments.map((s) => JSON.stringify(s?.name)).join(', ')}]`);
  }
  return parts.join(' ');
}
