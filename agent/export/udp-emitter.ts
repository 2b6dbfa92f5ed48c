// Sends finished documents to the daemon: one document per UDP datagram (spec §2.1).
// Fire-and-forget by nature (UDP has no acknowledgement), bounded, never blocks the event loop,
// never keeps the process alive, never throws into the app.

import type { Socket } from 'node:dgram';
import { log } from '../log';
import { isIPv4, isIPv6, type Endpoint } from '../config/daemon-address';

/** Shortest time between two fresh DNS lookups of the daemon's name after it refused datagrams. */
const RECONNECT_INTERVAL_MS = 5000;
/** How long sends are skipped after the daemon refused one (it is probed again after that). */
const REFUSED_PAUSE_MS = 1000;

export interface EmitterStats {
  sent: number;
  /** Dropped because too many sends were already in flight. */
  droppedQueueFull: number;
  /** Failed at the socket (EMSGSIZE, ECONNREFUSED from a previous ICMP, DNS failure…). */
  failed: number;
  /** Not sent because the daemon was refusing datagrams moments before. */
  droppedDaemonDown: number;
}

export class UdpEmitter {
  readonly stats: EmitterStats = { sent: 0, droppedQueueFull: 0, failed: 0, droppedDaemonDown: 0 };
  private socket: Socket | undefined;
  private connected = false;
  /** Datagrams waiting for the socket to connect (only during the first few ms). */
  private pending: string[] = [];
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly onSent = (err: Error | null): void => this.sendDone(err);
  private readonly hostIsName: boolean;
  private lastReconnect = 0;
  /** While non-zero: the daemon refused datagrams; sends are dropped until this time (ms). */
  private refusedUntil = 0;

  constructor(
    private readonly daemon: Endpoint,
    private readonly maxInFlight: number,
  ) {
    this.hostIsName = !isIPv4(daemon.host) && !isIPv6(daemon.host);
  }

  /** Queues one datagram (header line + document). Never throws. */
  send(datagram: string): void {
    if (this.refusedUntil !== 0) {
      // The daemon refused the last datagrams: each refused send costs an exception object in
      // Node, so while it is down, drop without trying, and probe again every REFUSED_PAUSE_MS.
      if (Date.now() < this.refusedUntil) {
        this.stats.droppedDaemonDown++;
        return;
      }
      this.refusedUntil = 0;
    }
    if (this.inFlight + this.pending.length >= this.maxInFlight) {
      this.stats.droppedQueueFull++;
      log.once('emitter.queueFull', 'warn', 'too many X-Ray documents in flight; dropping new ones (counted)', {
        maxQueuedSends: this.maxInFlight,
      });
      return;
    }
    try {
      if (!this.connected) {
        this.pending.push(datagram);
        this.ensureSocket();
        return;
      }
      this.inFlight++;
      this.socket!.send(datagram, this.onSent);
    } catch (err) {
      this.inFlight = Math.max(0, this.inFlight - 1);
      this.fail(err as NodeJS.ErrnoException);
    }
  }

  /**
   * Creates and connects the socket now instead of at the first send. In Lambda this runs during
   * init, so every send inside an invocation goes straight to the kernel (the process may be
   * frozen as soon as the handler returns).
   */
  connectNow(): void {
    try {
      this.ensureSocket();
    } catch (err) {
      this.fail(err as NodeJS.ErrnoException);
    }
  }

  /** Resolves once every datagram handed to `send` so far has left (or failed). */
  flush(): Promise<void> {
    if (this.inFlight === 0 && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get busy(): boolean {
    return this.inFlight > 0 || this.pending.length > 0;
  }

  close(): void {
    try {
      this.socket?.close();
    } catch {
      // already closed
    }
    this.socket = undefined;
    this.connected = false;
  }

  private ensureSocket(): void {
    if (this.socket) return;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const dgram = require('node:dgram') as typeof import('node:dgram');
    const type = isIPv6(this.daemon.host) ? 'udp6' : 'udp4';
    const socket = dgram.createSocket(type);
    this.socket = socket;
    // A connected UDP socket reports ICMP "port unreachable" as an 'error' or send failure; without
    // this listener that would be an uncaught 'error' event in the app.
    socket.on('error', (err) => this.fail(err as NodeJS.ErrnoException));
    socket.unref();
    // Node passes a DNS or connect failure to this callback (not as an 'error' event): the socket is
    // then unconnected and every send on it would throw ERR_SOCKET_BAD_PORT, so fail() drops it and
    // the next send retries with a fresh lookup.
    socket.connect(this.daemon.port, this.daemon.host, (...args: unknown[]) => {
      if (this.socket !== socket) return;
      if (args[0] instanceof Error) {
        this.fail(args[0] as NodeJS.ErrnoException);
        return;
      }
      this.connected = true;
      const queued = this.pending;
      this.pending = [];
      for (const d of queued) {
        this.inFlight++;
        try {
          socket.send(d, this.onSent);
        } catch (err) {
          this.inFlight--;
          this.fail(err as NodeJS.ErrnoException);
        }
      }
      this.notifyIfIdle();
    });
  }

  private sendDone(err: Error | null): void {
    this.inFlight--;
    if (err) this.fail(err as NodeJS.ErrnoException);
    else this.stats.sent++;
    this.notifyIfIdle();
  }

  private fail(err: NodeJS.ErrnoException): void {
    this.stats.failed++;
    const code = err?.code ?? 'unknown';
    if (code === 'EMSGSIZE') {
      log.once('emitter.EMSGSIZE', 'warn', 'the OS refused an X-Ray datagram as too large (EMSGSIZE); lower maxDatagramBytes', {
        code,
      });
    } else {
      log.once(`emitter.${code}`, 'warn', `cannot send to the X-Ray daemon at ${this.daemon.host}:${this.daemon.port} (${code}); documents are dropped until it answers`, {
        code,
      });
    }
    // A DNS or connect failure leaves no usable socket: drop what waited and retry on the next send.
    if (code === 'ECONNREFUSED') this.refusedUntil = Date.now() + REFUSED_PAUSE_MS;
    if (!this.connected && this.socket) {
      this.stats.failed += this.pending.length;
      this.pending = [];
      this.close();
    } else if (code === 'ECONNREFUSED' && this.hostIsName && Date.now() - this.lastReconnect > RECONNECT_INTERVAL_MS) {
      // The daemon behind a DNS name went away (a restarted container may come back on another
      // address): look the name up again on the next send, at most every few seconds (spec §2.1).
      this.lastReconnect = Date.now();
      this.close();
    }
    this.notifyIfIdle();
  }

  private notifyIfIdle(): void {
    if (this.inFlight > 0 || this.pending.length > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
