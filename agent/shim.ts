// The one wrap helper every instrumentation uses to patch a function (DESIGN §4.2): the wrapper
// keeps the original's name, length, own properties and prototype; patching a property that is
// getter-only or non-configurable is refused with a debug line instead of throwing; every patch
// can be undone. (Written here rather than taken from shimmer, which drops name/length and throws
// on getter-only exports: the part we would keep is these few lines.)

import { log } from './log';

const ORIGINAL = Symbol.for('@xray/agent.original');

/** Wraps made by the patch now running, so a patch that throws halfway can be undone whole. */
let transaction: Array<[object, PropertyKey]> | undefined;

export function beginTransaction(): void {
  transaction = [];
}

export function endTransaction(): void {
  transaction = undefined;
}

export function rollbackTransaction(): void {
  const made = transaction ?? [];
  transaction = undefined;
  for (let i = made.length - 1; i >= 0; i--) unwrap(made[i][0], made[i][1]);
}

type AnyFn = (...args: any[]) => any;

export interface Wrapped {
  [ORIGINAL]?: AnyFn;
}

/** Returns the unwrapped function behind `fn` (or `fn` itself). */
export function originalOf<F extends AnyFn>(fn: F): F {
  return ((fn as unknown as Wrapped)[ORIGINAL] as F) ?? fn;
}

/**
 * Copies name, length, own properties (symbols included) and prototype of `original` onto
 * `wrapper`, so callers that inspect a function (arity checks, markers set on it) see no difference.
 */
export function copyFunctionShape(wrapper: AnyFn, original: AnyFn): void {
  for (const key of Reflect.ownKeys(original)) {
    if (key === 'arguments' || key === 'caller') continue;
    const desc = Object.getOwnPropertyDescriptor(original, key);
    if (desc === undefined) continue;
    try {
      Object.defineProperty(wrapper, key, desc);
    } catch {
      // a non-configurable own property of the wrapper (e.g. strict-mode `prototype`): keep ours
    }
  }
  if (Object.getPrototypeOf(wrapper) !== Object.getPrototypeOf(original)) {
    Object.setPrototypeOf(wrapper, Object.getPrototypeOf(original));
  }
}

/**
 * Replaces `target[name]` with `makeWrapper(original)`. Returns false (and leaves the target
 * untouched) when the property is missing, not a function, already wrapped or cannot be written.
 */
export function wrap<T extends object>(target: T, name: PropertyKey, makeWrapper: (original: AnyFn) => AnyFn): boolean {
  try {
    const desc = findDescriptor(target, name);
    const original = desc?.value as AnyFn | undefined;
    if (desc === undefined || typeof original !== 'function') {
      log.debug('shim: nothing to wrap', { name: String(name) });
      return false;
    }
    if ((original as unknown as Wrapped)[ORIGINAL] !== undefined) return false;
    const own = Object.prototype.hasOwnProperty.call(target, name);
    if (own && (!desc.configurable && !desc.writable)) {
      log.debug('shim: property is read-only and non-configurable; not wrapped', { name: String(name) });
      return false;
    }
    const wrapper = makeWrapper(original);
    copyFunctionShape(wrapper, original);
    Object.defineProperty(wrapper, ORIGINAL, { value: original, enumerable: false, configurable: true });
    Object.defineProperty(target, name, {
      configurable: own ? desc.configurable : true,
      enumerable: own ? desc.enumerable : false,
      writable: true,
      value: wrapper,
    });
    transaction?.push([target, name]);
    return true;
  } catch (err) {
    log.debug('shim: wrap failed', { name: String(name), error: String(err) });
    return false;
  }
}

/** Undoes `wrap`: restores the original function (own property only). */
export function unwrap<T extends object>(target: T, name: PropertyKey): void {
  try {
    const current = (target as Record<PropertyKey, unknown>)[name] as Wrapped | undefined;
    const original = current?.[ORIGINAL];
    if (original === undefined || !Object.prototype.hasOwnProperty.call(target, name)) return;
    const desc = Object.getOwnPropertyDescriptor(target, name)!;
    Object.defineProperty(target, name, { ...desc, value: original });
  } catch (err) {
    log.debug('shim: unwrap failed', { name: String(name), error: String(err) });
  }
}

function findDescriptor(target: object, name: PropertyKey): PropertyDescriptor | undefined {
  for (let o: object | null = target; o !== null; o = Object.getPrototypeOf(o)) {
    const d = Object.getOwnPropertyDescriptor(o, name);
    if (d !== undefined) return d;
  }
  return undefined;
}
