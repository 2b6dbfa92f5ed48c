// Sends finished documents to the daemon: one document per UDP datagram (spec §2.1).
// Fire-and-forget by nature (UDP has no acknowledgement), bounded, never blocks the event loop,
// never keeps the process alive, never throws into the app.
//
// Datagrams go out in bursts: the first one waits at most `batchMs` (default 5 ms) for others, up
// to BATCH_MAX, encoded into one buffer as they arrive (./burst-buffer). Each datagram still costs
// one send syscall, but on loopback the kernel's delivery and the daemon's wake-up are far cheaper
// for a burst than for the same datagrams one at a time: measured on the plain-app bench, 4–7 µs
// less CPU per traced request. Only the last datagram of a burst carries a completion callback.
// `sendNow()` (flush, beforeExit, exit) sends a waiting burst at once; in Lambda `batchMs` is 0
// (each datagram leaves inside `send`, as the process may be frozen as soon as the handler returns).
// Until the socket has connected (its first moments, or a DNS lookup of the daemon's name), full
// bursts wait aside, up to MAX_WAITING_BURSTS, and leave first, in order.

import type { Socket } from 'node:dgram';
import { log } from '../log';
import { run } from '../context';
import { BurstBuffer, BUFFER_BYTES, MAX_UDP_PAYLOAD, writeText, type DatagramWriter } from './burst-buffer';
import { isIPv4, isIPv6, type Endpoint } from '../config/daemon-address';
import { setTimeout, clearTimeout } from '../timers';

/** Shortest time between two fresh DNS lookups of the daemon's name after it refused datagrams. */
const RECONNECT_INTERVAL_MS = 5000;
/**
 * How long sends are skipped after the daemon refused one, or after its address could not be looked
 * up or connected to (it is probed again after that).
 */
const REFUSED_PAUSE_MS = 1000;
/** A burst is sent as soon as it holds this many datagrams. */
export const BATCH_MAX = 64;
/**
 * Full burst buffers that may wait for the socket to connect (the first moments of the process, or
 * a DNS lookup of the daemon's name): 16 × 64 KiB, about as many typical documents as the default
 * AWS_XRAY_MAX_QUEUED_SENDS. Past that, new documents are dropped (counted, logged once).
 */
export const MAX_WAITING_BURSTS = 16;

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
  /** The burst being gathered; before the socket has connected (the first few ms), what waits for it. */
  private burst = new BurstBuffer();
  /** Full bursts set aside before the socket connected, oldest first; they leave before `burst`. */
  private waiting: BurstBuffer[] = [];
  private burstTimer: NodeJS.Timeout | undefined;
  /** Datagrams handed to the socket whose burst's completion callback has not run yet. */
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly sendBurst = (): void => this.sendNow();
  /** The daemon is named by a host name (a DNS lookup comes before connecting). */
  readonly hostIsName: boolean;
  private lastReconnect = 0;
  /** While non-zero: the daemon refused datagrams; sends are dropped until this time (ms). */
  private refusedUntil = 0;

  constructor(
    private readonly daemon: Endpoint,
    private readonly maxInFlight: number,
    /** Longest wait of a datagram for others to go out with; 0: each is sent at once. */
    private readonly batchMs = 0,
    /** REFUSED_PAUSE_MS (tests shorten it). */
    private readonly pauseMs = REFUSED_PAUSE_MS,
  ) {
    this.hostIsName = !isIPv4(daemon.host) && !isIPv6(daemon.host);
  }

  /** Queues one datagram (header line + document) given as a string. Never throws. */
  send(datagram: string): void {
    if (this.sendWritten(writeText, datagram, MAX_UDP_PAYLOAD)) return;
    this.stats.failed++;
    log.once('emitter.tooLarge', 'warn', 'an X-Ray datagram larger than UDP allows was dropped (counted)', {});
  }

  /**
   * Queues the datagram `write` puts down from `item`, in at most `limit` bytes. False when it does
   * not fit into `limit` (nothing is sent: the caller makes it smaller); true when it was queued, or
   * dropped and counted. Throws only what `write` throws.
   */
  sendWritten<T>(write: DatagramWriter<T>, item: T, limit: number): boolean {
    if (this.refusedUntil !== 0) {
      // The daemon refused the last datagrams: each refused send costs an exception object in
      // Node, so while it is down, drop without trying, and probe again every REFUSED_PAUSE_MS.
      if (Date.now() < this.refusedUntil) {
        this.stats.droppedDaemonDown++;
        return true;
      }
      this.refusedUntil = 0;
    }
    if (this.inFlight + this.waitingCount + this.burst.count >= this.maxInFlight) {
      this.stats.droppedQueueFull++;
      log.once('emitter.queueFull', 'warn', 'too many X-Ray documents in flight; dropping new ones (counted)', {
        maxQueuedSends: this.maxInFlight,
      });
      return true;
    }
    if (!this.isConnected()) {
      try {
        this.ensureSocket();
      } catch (err) {
        this.fail(err as NodeJS.ErrnoException);
      }
    }
    let result = this.burst.write(write, item, limit);
    if (result === 'full') {
      // The burst's buffer is full: send what it holds (or, before the socket has connected, set it
      // aside), then write this datagram into an empty buffer, where 'tooLarge' is the answer that
      // tells the serializer to split it: a tree is never dropped for want of room in a burst.
      if (this.isConnected()) this.sendNow();
      else if (!this.setAside()) {
        this.stats.droppedQueueFull++;
        log.once('emitter.notConnected', 'warn', 'the UDP socket to the X-Ray daemon has not connected and its waiting room is full; dropping new documents (counted)', {
          daemon: `${this.daemon.host}:${this.daemon.port}`,
          waitingBytes: MAX_WAITING_BURSTS * BUFFER_BYTES,
        });
        return true;
      }
      result = this.burst.write(write, item, limit);
    }
    if (result !== 'written') return false;
    if (this.batchMs === 0 || this.burst.count >= BATCH_MAX) this.sendNow();
    else if (this.burst.count === 1) this.armBurstTimer();
    return true;
  }

  /** Hands the waiting bursts to the socket now (synchronous: the kernel has them on return); before it has connected, nothing. */
  sendNow(): void {
    const socket = this.socket;
    if (socket === undefined || !this.isConnected()) return;
    // An armed timer stays armed: firing with nothing waiting costs nothing, and a cleared timer
    // could not be re-armed by refresh().
    if (this.waiting.length > 0) {
      const waiting = this.waiting;
      this.waiting = [];
      // Their buffers are not written again (each BurstBuffer is dropped here): never replaced.
      for (const burst of waiting) this.hand(socket, burst, () => true);
    }
    this.hand(socket, this.burst, () => {
      try {
        return socket.getSendQueueCount() === 0;
      } catch {
        return false;
      }
    });
  }

  /** Before the socket has connected: the full burst waits aside and an empty one takes its place; false past MAX_WAITING_BURSTS. */
  private setAside(): boolean {
    if (this.waiting.length >= MAX_WAITING_BURSTS) return false;
    this.waiting.push(this.burst);
    this.burst = new BurstBuffer();
    return true;
  }

  /** Datagrams in the bursts set aside (none once the socket has connected). */
  private get waitingCount(): number {
    let n = 0;
    for (let i = 0; i < this.waiting.length; i++) n += this.waiting[i]!.count;
    return n;
  }

  /** Sends every datagram of `burst`; `reusable` as in BurstBuffer.drain. */
  private hand(socket: Socket, burst: BurstBuffer, reusable: () => boolean): void {
    const size = burst.count;
    if (size === 0) return;
    this.inFlight += size;
    let handed = 0;
    try {
      burst.drain((buffer, offset, length, last) => {
        // Only the last datagram reports back: the socket completes sends in order, so its
        // callback means the whole burst has left (or failed).
        if (last) socket.send(buffer, offset, length, (err) => this.burstDone(size, err));
        else socket.send(buffer, offset, length);
        handed++;
      }, reusable);
    } catch (err) {
      // The socket refused synchronously (closed under us): the rest of the burst is lost.
      this.inFlight -= size;
      this.stats.sent += handed;
      this.stats.failed += size - handed - 1;
      this.fail(err as NodeJS.ErrnoException);
    }
  }

  private armBurstTimer(): void {
    if (this.burstTimer === undefined) {
      // Created outside any request's context, so the timer (re-armed for every burst) holds no
      // segment alive; unref'd, so it never keeps the process up (beforeExit and exit send the rest).
      this.burstTimer = run(undefined, () => setTimeout(this.sendBurst, this.batchMs));
      this.burstTimer.unref();
    } else {
      this.burstTimer.refresh();
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

  /** The recorder's hint that documents are coming (its first sampled segment): connect now. */
  prepare(): void {
    this.connectNow();
  }

  /** Resolves once every datagram handed to `send` so far has left (or failed). */
  flush(): Promise<void> {
    this.sendNow();
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get busy(): boolean {
    return this.inFlight > 0 || this.burst.count > 0 || this.waitingCount > 0;
  }

  close(): void {
    if (this.burstTimer !== undefined) clearTimeout(this.burstTimer);
    this.burstTimer = undefined;
    this.stats.failed += this.burst.clear() + this.waitingCount;
    this.waiting = [];
    try {
      this.socket?.close();
    } catch {
      // already closed
    }
    this.socket = undefined;
    this.connected = false;
  }

  /**
   * Whether the socket is connected. Node marks it connected one tick before it emits 'connect'
   * (whose callback sets `connected`): a process that exits in that tick (process.exit() in the
   * handler of the first request's response) can still send, so the socket itself is asked.
   */
  private isConnected(): boolean {
    if (this.connected) return true;
    if (this.socket === undefined) return false;
    try {
      this.socket.remoteAddress(); // throws ERR_SOCKET_DGRAM_NOT_CONNECTED until connected
    } catch {
      return false;
    }
    this.connected = true;
    return true;
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
      this.sendNow();
      this.notifyIfIdle();
    });
  }

  private burstDone(size: number, err: Error | null): void {
    this.inFlight -= size;
    // A datagram before the last that failed synchronously is not reported by Node (no callback):
    // `sent` counts datagrams handed to the kernel.
    if (err) {
      this.stats.sent += size - 1;
      this.fail(err as NodeJS.ErrnoException);
    } else {
      this.stats.sent += size;
    }
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
    if (code === 'ECONNREFUSED') this.refusedUntil = Date.now() + this.pauseMs;
    if (!this.connected && this.socket) {
      // A DNS or connect failure leaves no usable socket: drop what waited, and look up again after
      // a pause, not at the very next send (an unknown name looked up for every document).
      this.close(); // counts what waited for it as failed
      this.refusedUntil = Date.now() + this.pauseMs;
    } else if (code === 'ECONNREFUSED' && this.hostIsName && Date.now() - this.lastReconnect > RECONNECT_INTERVAL_MS) {
      // The daemon behind a DNS name went away (a restarted container may come back on another
      // address): look the name up again on the next send, at most every few seconds (spec §2.1).
      this.lastReconnect = Date.now();
      this.close();
    }
    this.notifyIfIdle();
  }

  private notifyIfIdle(): void {
    // Datagrams gathered after a flush() began do not hold it up, unless the socket is not there yet.
    if (this.inFlight > 0 || (!this.connected && (this.burst.count > 0 || this.waitingCount > 0)) || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
