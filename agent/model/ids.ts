// X-Ray ids (spec §1.4): entity ids are 8 random bytes as 16 lower-case hex characters; trace ids
// are `1-<8 hex epoch seconds>-<24 hex random>`. Every traced request needs a few of them, so they
// come from a pooled buffer of cryptographically random bytes: one `randomFillSync` call pays for
// ~3,000 traced requests, and hex encoding is a table lookup per byte (measured ~30 ns per id,
// against ~2.5 µs for `crypto.randomBytes(8).toString('hex')`).

// node:crypto is loaded with the first id, not at start-up (it costs several ms to load, and a
// process that never traces a request never needs it).
let randomFillSync: ((buf: Buffer) => Buffer) | undefined;

// Why 64 KiB: a `randomFillSync` call costs ~2.5 µs when made back to back, but 25–55 µs when made
// now and then between other work, as here (measured in the plain-app bench under load: ~50 µs per
// 4 KiB fill, i.e. 0.25 µs per traced request; OpenSSL's DRBG path runs cold each time, whatever
// the size). At 64 KiB the fill is ~0.015 µs per request, for 60 KiB more memory outside the heap.
const POOL_SIZE = 65536;

// allocUnsafeSlow: a buffer of our own, never a slice of Node's shared allocation pool, so no other
// Buffer in the process aliases the random bytes that become ids (DOCS require unguessable ids
// because they are echoed in response headers).
const pool: Buffer = Buffer.allocUnsafeSlow(POOL_SIZE);
// Start "used up" so the first id triggers the first fill: importing this module costs nothing.
let poolOffset = POOL_SIZE;

/** HEX[b] = two lower-case hex characters for byte b. */
const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i < 16 ? '0' : '') + i.toString(16));
/** HEX_CODES[2b], HEX_CODES[2b + 1]: the character codes of HEX[b]. */
const HEX_CODES = new Uint8Array(512);
for (let i = 0; i < 256; i++) {
  HEX_CODES[2 * i] = HEX[i]!.charCodeAt(0);
  HEX_CODES[2 * i + 1] = HEX[i]!.charCodeAt(1);
}

// Each id is made by one String.fromCharCode call with every character code as an argument: V8
// writes that straight into one flat string. Joined with `+` instead, an id is a chain of
// intermediate strings, and a segment keeps its ids until it is sent at the end of the event loop's
// turn (export/end-of-turn.ts), where a young-generation collection finds every segment of the turn
// alive: measured, a finished request segment held 940 bytes of heap with joined ids, 638 with flat
// ones. (Spelled into a Buffer and read out with toString('latin1'), an id was flat too, but cost
// ~85 ns against ~30 for this, most of it in the call into Node's C++.)
const fromCharCode = String.fromCharCode;

/**
 * Reserves `n` fresh random bytes and returns their offset in `pool`. Each byte is handed out once;
 * the whole pool is refilled when the rest is too short for the request.
 */
function take(n: number): number {
  if (poolOffset + n > POOL_SIZE) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    randomFillSync ??= (require('node:crypto') as typeof import('node:crypto')).randomFillSync;
    randomFillSync(pool);
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += n;
  return at;
}

/** 16 lower-case hex characters from 8 cryptographically random bytes. */
export function newEntityId(): string {
  const o = take(8);
  const p = pool;
  const h = HEX_CODES;
  const a = 2 * p[o]!, b = 2 * p[o + 1]!, c = 2 * p[o + 2]!, d = 2 * p[o + 3]!;
  const e = 2 * p[o + 4]!, f = 2 * p[o + 5]!, g = 2 * p[o + 6]!, i = 2 * p[o + 7]!;
  return fromCharCode(
    h[a]!, h[a + 1]!, h[b]!, h[b + 1]!, h[c]!, h[c + 1]!, h[d]!, h[d + 1]!,
    h[e]!, h[e + 1]!, h[f]!, h[f + 1]!, h[g]!, h[g + 1]!, h[i]!, h[i + 1]!,
  );
}

// Every trace started within the same second shares the time part: cache its character codes.
let cachedSecond = -1;
const secondCodes = new Uint8Array(8);

function spellSeconds(nowMs: number | undefined): Uint8Array {
  let ms = nowMs;
  // A bad clock value from a caller must not produce a malformed id: fall back to the real clock.
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) ms = Date.now();
  // `>>> 0` keeps 32 bits, i.e. 8 hex digits (wraps in 2106, like every other X-Ray SDK would).
  const sec = Math.floor(ms / 1000) >>> 0;
  if (sec !== cachedSecond) {
    for (let k = 0; k < 4; k++) {
      const byte = 2 * ((sec >>> (24 - 8 * k)) & 0xff);
      secondCodes[2 * k] = HEX_CODES[byte]!;
      secondCodes[2 * k + 1] = HEX_CODES[byte + 1]!;
    }
    cachedSecond = sec;
  }
  return secondCodes;
}

/** `1-<8 hex epoch seconds of nowMs (default: now)>-<24 hex from 12 random bytes>`. */
export function newTraceId(nowMs?: number): string {
  const t = spellSeconds(nowMs);
  const o = take(12);
  const p = pool;
  const h = HEX_CODES;
  const a = 2 * p[o]!, b = 2 * p[o + 1]!, c = 2 * p[o + 2]!, d = 2 * p[o + 3]!;
  const e = 2 * p[o + 4]!, f = 2 * p[o + 5]!, g = 2 * p[o + 6]!, i = 2 * p[o + 7]!;
  const j = 2 * p[o + 8]!, k = 2 * p[o + 9]!, l = 2 * p[o + 10]!, m = 2 * p[o + 11]!;
  return fromCharCode(
    0x31, 0x2d, t[0]!, t[1]!, t[2]!, t[3]!, t[4]!, t[5]!, t[6]!, t[7]!, 0x2d, // "1-" seconds "-"
    h[a]!, h[a + 1]!, h[b]!, h[b + 1]!, h[c]!, h[c + 1]!, h[d]!, h[d + 1]!,
    h[e]!, h[e + 1]!, h[f]!, h[f + 1]!, h[g]!, h[g + 1]!, h[i]!, h[i + 1]!,
    h[j]!, h[j + 1]!, h[k]!, h[k + 1]!, h[l]!, h[l + 1]!, h[m]!, h[m + 1]!,
  );
}

/** The sampling client id (spec §4.5): 24 lower-case hex characters from 12 random bytes (rare: not hot). */
export function newClientId(): string {
  const o = take(12);
  let id = '';
  for (let n = 0; n < 12; n++) id += HEX[pool[o + n]!];
  return id;
}

const ENTITY_ID_RE = /^[0-9a-f]{16}$/i;
const TRACE_ID_RE = /^1-[0-9a-f]{8}-[0-9a-f]{24}$/i;

/** True for 16 hex digits (either case). Never throws. */
export function isEntityId(s: unknown): s is string {
  return typeof s === 'string' && s.length === 16 && ENTITY_ID_RE.test(s);
}

/** True for a well-formed `1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx` (either case). Never throws. */
export function isTraceId(s: unknown): s is string {
  return typeof s === 'string' && s.length === 35 && TRACE_ID_RE.test(s);
}
