// Wraps a Lambda handler so that what the invocation recorded has left the process before the
// result (or error) is handed back to the runtime: Lambda freezes the process as soon as it has the
// response, and anything still queued would only go out at the next thaw, or never (spec §6.5).
//
// The wrapper is invisible to the runtime and to the handler (DESIGN §4.2):
//   * same `length` (the runtime reads it: 3 or more means a callback handler, which Node.js 24
//     refuses at init), same `name`, same own properties, including the response-streaming marker
//     that awslambda.streamifyResponse puts on the function;
//   * an async original gives an async wrapper (the runtime tells them apart by constructor name);
//   * a returned promise is settled with the same value or the same rejection, only later;
//     a non-promise return value (sync handlers, which answer through the callback) is returned as is;
//   * a synchronous throw stays a synchronous throw (nothing can be waited for there);
//   * the callback (third argument of non-streaming handlers) is called with the same arguments.
// The wait is bounded: flush() raced with a timer of `timeoutMs`; when nothing is waiting to be
// sent the result goes back at once, without a timer.

import { copyFunctionShape } from '../shim';
import { setTimeout, clearTimeout } from '../timers';
import { isThenable } from '../settled';

export const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');

type AnyFn = (...args: any[]) => any;

export interface FlushControl {
  /** True when nothing is queued or in flight (then no wait, no timer). */
  idle(): boolean;
  /** Resolves when everything queued so far has been handed to the OS. */
  flush(): Promise<unknown>;
  /** Longest wait for flush() before the result is released anyway. */
  timeoutMs: number;
}

/** Runs `fn` once everything queued has been sent, or after ctl.timeoutMs, whichever comes first. */
export function afterFlush(ctl: FlushControl, fn: () => void): void {
  let idle: boolean;
  try {
    idle = ctl.idle();
  } catch {
    idle = true;
  }
  if (idle) {
    fn();
    return;
  }
  let done = false;
  // Not unref'd: in Lambda an empty event loop while the handler's promise is pending would make
  // the runtime report the invocation as exited without an answer.
  const timer = setTimeout(() => finish(), ctl.timeoutMs);
  function finish(): void {
    if (done) return;
    done = true;
    clearTimeout(timer);
    fn();
  }
  try {
    ctl.flush().then(finish, finish);
  } catch {
    finish();
  }
}

/** A promise that settles like `p`, but only once the flush is done. */
function settleAfterFlush(p: PromiseLike<unknown>, ctl: FlushControl): PromiseLike<unknown> {
  try {
    return new Promise((resolve, reject) => {
      p.then(
        (value) => afterFlush(ctl, () => resolve(value)),
        (err) => afterFlush(ctl, () => reject(err)),
      );
    });
  } catch {
    return p;
  }
}

function wrapCallback(callback: AnyFn, ctl: FlushControl): AnyFn {
  return function (this: unknown, ...args: unknown[]): void {
    afterFlush(ctl, () => Reflect.apply(callback, this, args));
  };
}

function isAsyncFunction(fn: AnyFn): boolean {
  try {
    // The runtime's own test (UserFunction.js _isAsync).
    return fn.constructor?.name === 'AsyncFunction';
  } catch {
    return false;
  }
}

/** Wraps `original` as described at the top of this file. Throws only on a non-function. */
export function wrapHandler(original: AnyFn, ctl: FlushControl): AnyFn {
  if (typeof original !== 'function') throw new TypeError('wrapHandler: not a function');
  let streaming = false;
  try {
    streaming = Boolean((original as unknown as Record<symbol, unknown>)[HANDLER_STREAMING]);
  } catch {
    // a throwing getter: treat as not streaming, the runtime will throw on it itself
  }

  function invoke(self: unknown, args: unknown[]): unknown {
    // Non-streaming handlers get (event, context, callback); streaming ones (event, responseStream, context).
    if (!streaming && typeof args[2] === 'function') {
      args[2] = wrapCallback(args[2] as AnyFn, ctl);
    }
    const result = Reflect.apply(original, self, args);
    return isThenable(result) ? settleAfterFlush(result, ctl) : result;
  }

  const wrapped: AnyFn = isAsyncFunction(original)
    ? async function (this: unknown, ...args: unknown[]) {
        return invoke(this, args);
      }
    : function (this: unknown, ...args: unknown[]) {
        return invoke(this, args);
      };
  copyFunctionShape(wrapped, original);
  return wrapped;
}
