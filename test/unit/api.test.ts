// The manual API with the agent OFF (plain import, no bootstrap): every function still does the
// app's work and returns/throws exactly what the app's code does; nothing is recorded.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import * as api from '../../agent/api';
import { currentAgent } from '../../agent/runtime';
import { Subsegment } from '../../agent/model/entity';

test('the agent is off in this process', () => {
  assert.equal(currentAgent(), undefined);
  assert.equal(api.isEnabled(), false);
});

/** What code written for aws-xray-sdk-core does with the subsegment it is given. */
function useLikeTheSdk(sub: Subsegment): void {
  sub.addAnnotation('k', 'v');
  sub.addMetadata('m', { a: 1 });
  sub.addError(new Error('x'));
  sub.addFaultFlag();
  const child = sub.addNewSubsegment('child');
  child.close();
  sub.close(new Error('closing'));
  sub.close();
}

test('captureFunc runs the function with an unrecorded subsegment (every call on it harmless) and returns its value', () => {
  const calls: unknown[][] = [];
  const value = { v: 1 };
  const out = api.captureFunc('work', (...args: unknown[]) => {
    calls.push(args);
    useLikeTheSdk(args[0] as Subsegment);
    return value;
  });
  assert.equal(out, value);
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.length, 1);
  const given = calls[0]![0] as Subsegment;
  assert.ok(given instanceof Subsegment);
  assert.equal(given.recorded, false);
  assert.equal(given.annotations, undefined, 'nothing is kept on it');
  assert.equal(given.metadata, undefined);
  assert.equal(given.cause, undefined);
  assert.equal(given.segment.sampled, false);
  assert.equal(given.segment.annotations, undefined);
  // With an explicit parent argument too.
  let seen: unknown = 'not called';
  assert.equal(
    api.captureFunc(
      'work',
      (s) => {
        seen = s;
        return 5;
      },
      undefined,
    ),
    5,
  );
  assert.ok(seen instanceof Subsegment && !seen.recorded);
});

test('captureFunc rethrows the app error unchanged', () => {
  const err = new TypeError('app failure');
  assert.throws(
    () =>
      api.captureFunc('work', () => {
        throw err;
      }),
    (e: unknown) => e === err,
  );
  // Non-Error throws pass through as-is too.
  assert.throws(
    () =>
      api.captureFunc('work', () => {
        throw 'plain string';
      }),
    (e: unknown) => e === 'plain string',
  );
});

test('captureAsyncFunc returns the function result (the same promise) and rethrows sync errors', async () => {
  let sub: unknown = 'not called';
  const p = Promise.resolve(42);
  const out = api.captureAsyncFunc('async', (s) => {
    sub = s;
    return p;
  });
  assert.equal(out, p, 'the very same promise, not a wrapper');
  assert.equal(await out, 42);
  assert.ok(sub instanceof Subsegment && !sub.recorded);
  useLikeTheSdk(sub);

  const rejection = new Error('rejected');
  const rejected = api.captureAsyncFunc('async', async () => {
    await sleep(1);
    throw rejection;
  });
  await assert.rejects(rejected, (e: unknown) => e === rejection);

  const syncErr = new RangeError('sync');
  assert.throws(
    () =>
      api.captureAsyncFunc('async', () => {
        throw syncErr;
      }),
    (e: unknown) => e === syncErr,
  );

  // The aws-xray-sdk-core calling style: the function closes the subsegment itself.
  const result = await new Promise<string>((resolve) => {
    api.captureAsyncFunc('cb-style', (s) => {
      setTimeout(() => {
        s?.close();
        resolve('done');
      }, 1);
    });
  });
  assert.equal(result, 'done');
});

test('captureCallbackFunc returns a callable that passes args, `this` and the return value through', () => {
  const err = new Error('callback failure');
  function cb(this: unknown, a: number, b: string) {
    if (a < 0) throw err;
    return { self: this, a, b };
  }
  const wrapped = api.captureCallbackFunc('cb', cb);
  assert.equal(typeof wrapped, 'function');
  const self = { s: 1 };
  const out = wrapped.call(self, 1, 'x');
  assert.deepEqual(out, { self, a: 1, b: 'x' });
  assert.equal(out.self, self);
  assert.throws(
    () => wrapped(-1, 'y'),
    (e: unknown) => e === err,
  );
  // It can be called any number of times.
  assert.equal(wrapped.call(undefined, 2, 'z').a, 2);
});

test('getSegment returns undefined, without throwing', () => {
  assert.equal(api.getSegment(), undefined);
});

test('flush resolves', async () => {
  const out = await api.flush();
  assert.equal(out, undefined);
});

test('setContextMissingStrategy is accepted and changes nothing', () => {
  assert.doesNotThrow(() => api.setContextMissingStrategy('RUNTIME_ERROR'));
  assert.equal(api.getSegment(), undefined, 'still no throw with the agent off');
  assert.equal(api.captureFunc('x', () => 3), 3);
});

test('compatibility no-ops return their argument', () => {
  const http = { request() {} };
  const sdk = { S3: class {} };
  const client = { send() {} };
  assert.equal(api.captureHTTPsGlobal(http), http);
  assert.equal(api.captureHTTPs(http), http);
  assert.equal(api.captureAWS(sdk), sdk);
  assert.equal(api.captureAWSClient(client), client);
  assert.equal(api.captureAWSv3Client(client), client);
  assert.equal(api.capturePromise(), undefined);
  // The modules are not modified.
  assert.deepEqual(Object.keys(http), ['request']);
  assert.deepEqual(Object.keys(client), ['send']);
});

test('the SDK surface with the agent off: constructors give unrecorded entities, middlewares pass through, nothing throws', () => {
  const seg = new api.Segment('job', '1-5759e988-00000000000000000000a13c');
  assert.ok(seg instanceof api.Segment);
  assert.equal(seg.sampled, false);
  seg.addAnnotation('k', 'v');
  seg.addNewSubsegment('x').close();
  seg.close();
  assert.equal(seg.annotations, undefined);
  const sub = new api.Subsegment('s');
  assert.ok(sub instanceof api.Subsegment);
  assert.equal(sub.recorded, false);
  assert.ok(api.middleware.traceRequestResponseCycle({}, {}) instanceof api.Segment);
  const req: Record<string, unknown> = {};
  let nexts = 0;
  api.express.openSegment('name')(req, {}, () => nexts++);
  assert.equal(req.segment, undefined, 'no request segment with the agent off');
  const err = new Error('e');
  api.express.closeSegment()(err, req, {}, (e?: unknown) => {
    assert.equal(e, err);
    nexts++;
  });
  assert.equal(nexts, 2);
  assert.equal(api.express.closeSegment().length, 4, 'an Express error middleware');
  api.capturePromise();
  api.capturePromise.patchThirdPartyPromise(Promise);
  api.middleware.setSamplingRules('rules.json');
});
