// For pool methods that hand out a connection through a callback (pg-pool `connect(cb)`, mysql and
// mysql2 `getConnection(cb)`): when no connection is free, the callback is queued and runs when
// some other request releases one — in that request's async context. Binding it to the caller's
// context keeps everything done with the connection (the queries first) in the right request.
// When the pool's own query() asked for the connection, the callback also hands that pool call to
// the connection-level query it issues (handoff.ts), so the query is recorded once.

import { active, runApply } from '../../agent/context';
import { log } from '../../agent/log';
import { callbackIndex, withArg } from './query-call';
import { takePoolCall, withConnectionOwner } from './handoff';

type AnyFn = (...args: any[]) => any;

/** Makes a wrapper (for agent/shim `wrap`) that runs the last-argument callback in the caller's context. */
export function bindLastCallback(label: string): (original: AnyFn) => AnyFn {
  return (original) =>
    function (this: unknown) {
      const at = callbackIndex(arguments);
      if (at === -1) return Reflect.apply(original, this, arguments);
      let args: ArrayLike<unknown> = arguments;
      try {
        const owner = takePoolCall();
        const entity = active();
        const cb = arguments[at] as AnyFn;
        args = withArg(arguments, at, function (this: unknown) {
          const self = this;
          const cbArgs = arguments;
          return withConnectionOwner(owner, () => runApply(entity, cb, self, cbArgs));
        });
      } catch (err) {
        log.once(`${label}.bind`, 'error', `${label}: could not bind a callback to its context`, { error: String(err) });
      }
      return Reflect.apply(original, this, args);
    };
}
