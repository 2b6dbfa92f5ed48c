// The X-Ray `cause` object (spec §1.11): one exception entry per error in an `Error.cause` chain,
// each with the V8 stack frames parsed from `err.stack`. Only runs when an error is recorded, but
// errors can be frequent (a failing dependency), so the stack is scanned once with indexOf and only
// the kept frames are parsed; the rest are just counted for `truncated`.
//
// De-duplication: the id given to each error object is remembered (WeakMap, so errors are not kept
// alive), with the scope (trace) it was written in. When the same error propagates to a parent
// entity, the recorder writes the string form `cause: "<exception id>"` instead of a second copy
// (causeReference), and a wrapper error whose `cause` was already recorded points at that exception
// instead of repeating it.

import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newEntityId } from './ids';

export interface StackFrame {
  path: string;
  line?: number;
  label: string;
}

export interface XrayException {
  id: string;
  message?: string;
  type?: string;
  remote?: boolean;
  truncated?: number;
  skipped?: number;
  cause?: string;
  stack?: StackFrame[];
}

export interface Cause {
  working_directory: string;
  paths?: string[];
  exceptions: XrayException[];
}

export interface BuildCauseOptions {
  /** The error came back from a downstream service (set on the first entry only). */
  remote?: boolean;
  /** Frames kept per exception (config `maxStackFrames`); negative / non-numbers mean the default 10. */
  maxFrames: number;
  /** Working directory for relative frame paths; default process.cwd(). */
  cwd?: string;
  /**
   * What a remembered exception id is valid for, typically the Segment (or trace id) being
   * recorded. An error object can be thrown again in a later request (libraries keep pre-built
   * errors); an id remembered under another scope is then not returned, because it points into
   * another trace. Omitted: one global scope.
   */
  scope?: unknown;
}

/** `Error.cause` links followed after the recorded error itself (so at most 6 entries). */
const MAX_CAUSE_LINKS = 5;
const MAX_MESSAGE_LENGTH = 1000;
/** Frame paths and labels beyond this are cut (ESM `data:` URLs can hold a whole module). */
const MAX_FRAME_FIELD_LENGTH = 1024;
const DEFAULT_MAX_FRAMES = 10;
/** `:line:col` or `:line` at the end of a frame location. */
const LINE_COL_RE = /:(\d+)(?::\d+)?$/;

interface Recorded {
  id: string;
  scope: unknown;
}
/** Exception id given to each error object that went into a built cause, and its scope. */
const recorded = new WeakMap<object, Recorded>();

function isObjectLike(v: unknown): v is object {
  return (typeof v === 'object' && v !== null) || typeof v === 'function';
}

/** The exception id last written for this error object (in any scope), if any. */
export function exceptionIdFor(err: object): string | undefined {
  return isObjectLike(err) ? recorded.get(err)?.id : undefined;
}

/**
 * For an error that was recorded before in the same scope (on a child entity, typically): the
 * exception id to write as `cause: "<id>"`. Undefined for anything not recorded yet in `scope`,
 * including all primitives.
 */
export function causeReference(err: unknown, scope?: unknown): string | undefined {
  if (!isObjectLike(err)) return undefined;
  const r = recorded.get(err);
  return r !== undefined && r.scope === scope ? r.id : undefined;
}

/**
 * Builds the object form of `cause` for `err` (an Error, a string, or any thrown value) and its
 * `Error.cause` chain. Remembers the id of each error object for causeReference. Never throws.
 */
export function buildCause(err: unknown, opts: BuildCauseOptions): Cause {
  const cwd = resolveCwd(opts?.cwd);
  const exceptions: XrayException[] = [];
  const scope = opts?.scope;
  try {
    const mf = opts?.maxFrames;
    // Infinity (no limit asked) is bounded anyway: V8 rarely records more than Error.stackTraceLimit.
    const maxFrames =
      typeof mf === 'number' && mf >= 0 ? (Number.isFinite(mf) ? Math.floor(mf) : 1000) : DEFAULT_MAX_FRAMES;
    const chain: unknown[] = [];
    let current: unknown = err;
    for (let link = 0; ; link++) {
      const ex = describe(current, maxFrames, cwd);
      if (link === 0 && opts?.remote === true) ex.remote = true;
      if (exceptions.length > 0) exceptions[exceptions.length - 1].cause = ex.id;
      exceptions.push(ex);
      if (isObjectLike(current)) {
        chain.push(current);
        // First recording in a scope wins: that is the id a parent's string `cause` must point to.
        const r = recorded.get(current);
        if (r === undefined || r.scope !== scope) recorded.set(current, { id: ex.id, scope });
      }

      if (link >= MAX_CAUSE_LINKS) break;
      const next = readCauseProperty(current);
      if (next === undefined || next === null || chain.includes(next)) break; // end, or a cycle
      const earlier = causeReference(next, scope);
      if (earlier !== undefined) {
        // The rest of the chain was already written (by a child entity): link to it, do not repeat it.
        ex.cause = earlier;
        break;
      }
      current = next;
    }
  } catch {
    // Only a pathological value gets here (every read is already guarded): keep what was built.
    if (exceptions.length === 0) exceptions.push({ id: newEntityId(), message: '[unreadable error]', type: '' });
  }
  return { working_directory: cwd, exceptions };
}

function resolveCwd(cwd: string | undefined): string {
  if (typeof cwd === 'string' && cwd.length > 0) return cwd;
  try {
    return process.cwd(); // throws if the directory was deleted
  } catch {
    return '';
  }
}

function readCauseProperty(v: unknown): unknown {
  if (!isObjectLike(v)) return undefined;
  try {
    const cause = (v as { cause?: unknown }).cause;
    // VError-style errors (restify-errors, verror) have a cause() *method*, not an Error.cause.
    return typeof cause === 'function' ? undefined : cause;
  } catch {
    return undefined;
  }
}

function readString(o: object, key: string): string | undefined {
  try {
    const v = (o as Record<string, unknown>)[key];
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** One exception entry for any thrown value. */
function describe(v: unknown, maxFrames: number, cwd: string): XrayException {
  const ex: XrayException = { id: newEntityId() };
  if (!isObjectLike(v)) {
    // `throw 'boom'`, `throw null`, `reject(42)`: no class, no stack. NODE also uses type ''.
    ex.message = cut(typeof v === 'string' ? v : safeString(v), MAX_MESSAGE_LENGTH);
    ex.type = '';
    return ex;
  }

  const message = readString(v, 'message');
  ex.message = cut(message ?? safeString(v), MAX_MESSAGE_LENGTH);
  ex.type = typeOf(v);

  const stack = readString(v, 'stack');
  if (stack !== undefined) parseStack(stack, message, maxFrames, cwd, ex);
  return ex;
}

/**
 * err.name, but: a subclass that did not set `name` reports as 'Error', so its constructor name is
 * used; and Node's system errors are all plain 'Error', so their `code` (ECONNREFUSED) is the type.
 */
function typeOf(o: object): string {
  const name = readString(o, 'name');
  let ctor: string | undefined;
  try {
    const c = (o as { constructor?: unknown }).constructor;
    if (typeof c === 'function' && typeof c.name === 'string' && c.name.length > 0) ctor = c.name;
  } catch {
    ctor = undefined;
  }
  let type = name !== undefined && name.length > 0 ? name : (ctor ?? '');
  if (type === 'Error' && ctor !== undefined && ctor !== 'Error') type = ctor;
  if (type === 'Error') {
    const code = readString(o, 'code');
    if (code !== undefined && code.length > 0) type = code;
  }
  return cut(type, MAX_FRAME_FIELD_LENGTH);
}

/** String(v) for a thrown non-Error, which may run a user toString that throws. */
function safeString(v: unknown): string {
  try {
    return String(v);
  } catch {
    try {
      return Object.prototype.toString.call(v);
    } catch {
      return '[unprintable]';
    }
  }
}

/** Cuts to `max` UTF-16 units without leaving half of a surrogate pair. */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return s.slice(0, end);
}

/**
 * Reads V8 frames ("    at …" lines) from `stack`: the first `maxFrames` are parsed, the others are
 * counted into `truncated`. Scanning starts after the message, so a multi-line message that itself
 * contains "at …" lines is not mistaken for frames.
 */
function parseStack(
  stack: string,
  message: string | undefined,
  maxFrames: number,
  cwd: string,
  ex: XrayException,
): void {
  let pos = 0;
  if (message !== undefined && message.length > 0) {
    const at = stack.indexOf(message);
    if (at >= 0) pos = at + message.length;
  }
  const cwdPrefix = cwd.length === 0 ? '' : cwd.endsWith(sep) || cwd.endsWith('/') ? cwd : cwd + sep;
  const frames: StackFrame[] = [];
  let dropped = 0;
  const len = stack.length;
  while (pos < len) {
    let eol = stack.indexOf('\n', pos);
    if (eol < 0) eol = len;
    let p = pos;
    while (p < eol) {
      const c = stack.charCodeAt(p);
      if (c !== 32 && c !== 9) break;
      p++;
    }
    if (stack.startsWith('at ', p)) {
      if (frames.length < maxFrames) frames.push(parseFrame(stack.slice(p + 3, eol).trimEnd(), cwdPrefix));
      else dropped++;
    }
    pos = eol + 1;
  }
  if (frames.length > 0) ex.stack = frames;
  if (dropped > 0) ex.truncated = dropped;
}

/**
 * One frame, from the text after "at ":
 *   `fn (file:12:5)`, `async fn (file:12:5)`, `new X (file:12:5)`, `Object.<anonymous> (file:1:1)`,
 *   `file:12:5`, `file:///abs/mod.mjs:3:1`, `node:internal/x:1:2`, `new Promise (<anonymous>)`,
 *   `async Promise.all (index 0)`, `eval (eval at fn (file:1:1), <anonymous>:1:1)`, `<anonymous>`.
 */
function parseFrame(text: string, cwdPrefix: string): StackFrame {
  let label = '';
  let location = text;
  if (text.endsWith(')')) {
    const open = text.indexOf(' (');
    if (open >= 0) {
      label = text.slice(0, open);
      location = text.slice(open + 2, -1);
    }
  }
  if (label.startsWith('async ')) label = label.slice(6); // V8's marker, not part of the name
  if (label.length === 0) label = 'anonymous';

  // eval'd code: report the call site of eval (the innermost "(file:line:col)"), which is a real file.
  if (location.startsWith('eval at ')) {
    const close = location.indexOf(')');
    const open = close > 0 ? location.lastIndexOf('(', close) : -1;
    if (open >= 0) location = location.slice(open + 1, close);
  }

  let path = location;
  let line: number | undefined;
  const m = LINE_COL_RE.exec(location);
  if (m !== null) {
    path = location.slice(0, m.index);
    line = Number(m[1]);
  }

  if (path.startsWith('file://')) {
    try {
      path = fileURLToPath(path);
    } catch {
      // malformed URL: keep it as written
    }
  }
  if (cwdPrefix.length > 0 && path.length > cwdPrefix.length && path.startsWith(cwdPrefix)) {
    path = path.slice(cwdPrefix.length); // DESIGN §6.23: relative inside the cwd, else absolute
  }

  path = cut(path, MAX_FRAME_FIELD_LENGTH);
  label = cut(label, MAX_FRAME_FIELD_LENGTH);
  // No line (`<anonymous>`, `index 0`): omit it rather than write null (OTELC types it as an int).
  return line !== undefined && Number.isSafeInteger(line) ? { path, line, label } : { path, label };
}
