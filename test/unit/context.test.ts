// The active-entity context (AsyncLocalStorage): it follows every kind of async continuation started
// inside run(), never leaks between concurrent flows, and bind()/enter() behave as documented.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { createReadStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { active, bind, enter, run, runApply } from '../../agent/context';
import { Segment, type Entity, type Tracer } from '../../agent/model/entity';
import { newTraceId } from '../../agent/model/ids';

const tracer: Tracer = {
  maxStackFrames: 10,
  maxSubsegmentsPerSegment: 100,
  entityEnded() {},
  childrenSettled() {},
  subsegmentDropped() {},
};

function segment(name: string): Segment {
  return new Segment({ name, traceId: newTraceId(), sampled: true, tracer });
}

test('outside any run() there is no active entity', () => {
  assert.equal(active(), undefined);
});

test('run() returns exactly what fn returns and restores the outer entity afterwards', async () => {
  const a = segment('a');
  const b = segment('b');
  const p = Promise.resolve(1);
  assert.equal(
    run(a, () => p),
    p,
  );
  const obj = {};
  assert.equal(
    run(a, () => {
      assert.equal(active(), a);
      const inner = run(b, () => {
        assert.equal(active(), b);
        return obj;
      });
      assert.equal(active(), a, 'outer entity back after a nested run');
      return inner;
    }),
    obj,
  );
  assert.equal(active(), undefined);
  assert.throws(
    () =>
      run(a, () => {
        throw new RangeError('x');
      }),
    RangeError,
  );
  assert.equal(active(), undefined, 'restored after a throw too');
  // run(undefined) hides the outer entity.
  run(a, () => run(undefined, () => assert.equal(active(), undefined)));
});

test('the entity follows await, timers, setImmediate, nextTick, queueMicrotask and promise chains', async () => {
  const seg = segment('flow');
  const seen: Record<string, Entity | undefined> = {};
  await run(seg, async () => {
    await null;
    seen.await = active();
    await sleep(5);
    seen.awaitTimer = active();
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        seen.setTimeout = active();
        resolve();
      }, 1),
    );
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        seen.setImmediate = active();
        resolve();
      }),
    );
    await new Promise<void>((resolve) =>
      process.nextTick(() => {
        seen.nextTick = active();
        resolve();
      }),
    );
    await new Promise<void>((resolve) =>
      queueMicrotask(() => {
        seen.queueMicrotask = active();
        resolve();
      }),
    );
    await Promise.resolve(1)
      .then((v) => {
        seen.then = active();
        return Promise.reject(new Error(String(v)));
      })
      .catch(() => {
        seen.catch = active();
      })
      .finally(() => {
        seen.finally = active();
      });
    const interval = await new Promise<Entity | undefined>((resolve) => {
      const t = setInterval(() => {
        clearInterval(t);
        resolve(active());
      }, 1);
    });
    seen.setInterval = interval;
  });
  assert.equal(active(), undefined);
  for (const k of ['await', 'awaitTimer', 'setTimeout', 'setImmediate', 'nextTick', 'queueMicrotask', 'then', 'catch', 'finally', 'setInterval']) {
    assert.equal(seen[k], seg, `entity seen in ${k}`);
  }
});

test('a continuation attached inside run sees the entity even when the promise is resolved from outside', async () => {
  const seg = segment('p');
  let resolveIt!: () => void;
  const p = run(seg, () => new Promise<void>((r) => (resolveIt = r)).then(() => active()));
  resolveIt();
  assert.equal(await p, seg);
});

test('EventEmitter callbacks registered inside run see the entity when the flow emits', async () => {
  const seg = segment('ee');
  const ee = new EventEmitter();
  const seen: Array<Entity | undefined> = [];
  await run(seg, async () => {
    ee.on('tick', () => seen.push(active()));
    setTimeout(() => ee.emit('tick'), 2);
    await once(ee, 'tick');
    // A real I/O emitter created inside run: its events carry the entity.
    const stream = createReadStream(__filename);
    stream.on('data', () => seen.push(active()));
    stream.on('end', () => seen.push(active()));
    await once(stream, 'close');
  });
  assert.ok(seen.length >= 3);
  for (const s of seen) assert.equal(s, seg);

  // Plain listeners run in the emitter's caller context; bind() pins the listener's own entity.
  const other = segment('other');
  const emitter = new EventEmitter();
  const got: Record<string, Entity | undefined> = {};
  run(seg, () => {
    emitter.on('x', () => (got.plain = active()));
    emitter.on('x', bind(() => (got.bound = active())));
  });
  run(other, () => emitter.emit('x'));
  assert.equal(got.plain, other);
  assert.equal(got.bound, seg);
});

test('100 interleaved concurrent flows never see each other\'s entity', async () => {
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const mismatches: string[] = [];
  const segs = Array.from({ length: 100 }, (_, i) => segment(`flow-${i}`));
  const check = (seg: Segment, where: string) => {
    if (active() !== seg) mismatches.push(`${seg.name} at ${where} saw ${(active() as Segment | undefined)?.name}`);
  };
  const order: string[] = [];
  await Promise.all(
    segs.map((seg) =>
      run(seg, async () => {
        for (let step = 0; step < 5; step++) {
          const kind = Math.floor(rand() * 4);
          if (kind === 0) await sleep(Math.floor(rand() * 8));
          else if (kind === 1) await new Promise((r) => setImmediate(r));
          else if (kind === 2) await new Promise((r) => process.nextTick(r));
          else await Promise.resolve();
          check(seg, `step ${step}`);
          order.push(seg.name);
          // A nested run for a child flow never disturbs the parent flow.
          if (step === 2) {
            const child = segment(`${seg.name}/child`);
            await run(child, async () => {
              await sleep(Math.floor(rand() * 3));
              check(child, 'child');
            });
            check(seg, 'after child');
          }
        }
      }),
    ),
  );
  assert.deepEqual(mismatches, []);
  assert.equal(order.length, 500);
  // The flows really interleaved (not one after the other).
  const firstDone = order.lastIndexOf(order[0]);
  assert.ok(new Set(order.slice(0, firstDone)).size > 10, 'flows interleaved');
});

test('bind keeps the binding entity when called elsewhere; `this`, args and return value pass through', async () => {
  const a = segment('a');
  const b = segment('b');
  const fn = function (this: unknown, x: number, y: number) {
    return { self: this, sum: x + y, entity: active() };
  };
  const boundToA = run(a, () => bind(fn));
  const receiver = { r: 1 };
  const out = run(b, () => boundToA.call(receiver, 2, 3));
  assert.equal(out.entity, a);
  assert.equal(out.self, receiver);
  assert.equal(out.sum, 5);
  // Explicit entity.
  assert.equal(bind(fn, b)(1, 1).entity, b);
  // Called later from a timer in another flow.
  const later = await run(b, () => new Promise<Entity | undefined>((resolve) => setTimeout(() => resolve(boundToA(0, 0).entity), 1)));
  assert.equal(later, a);
  // Bound outside any context: runs with no entity even inside another flow.
  const boundToNone = bind(fn);
  assert.equal(
    run(a, () => boundToNone(0, 0).entity),
    undefined,
  );
  // A thrown error passes through.
  const err = new Error('bound throw');
  assert.throws(
    () =>
      bind(() => {
        throw err;
      }, a)(),
    (e: unknown) => e === err,
  );
  // Non-functions come back unchanged.
  const notFn = 42 as unknown as () => void;
  assert.equal(bind(notFn, a), notFn);
});

test('runApply runs with the entity, the given `this` and arguments', () => {
  const a = segment('a');
  const self = {};
  const out = runApply(
    a,
    function (this: unknown, ...args: unknown[]) {
      return { self: this, args, entity: active() };
    },
    self,
    [1, 'two'],
  );
  assert.equal(out.self, self);
  assert.deepEqual(out.args, [1, 'two']);
  assert.equal(out.entity, a);
  assert.equal(active(), undefined);
});

test('enter makes the entity current for the rest of the synchronous execution and what it schedules', async () => {
  const a = segment('a');
  const b = segment('b');
  const seen = await new Promise<Array<Entity | undefined>>((resolve) => {
    setImmediate(() => {
      const s: Array<Entity | undefined> = [active()];
      enter(a);
      s.push(active());
      setTimeout(() => {
        s.push(active());
        enter(b);
        s.push(active());
        Promise.resolve().then(() => {
          s.push(active());
          resolve(s);
        });
      }, 1);
    });
  });
  assert.deepEqual(
    seen.map((e) => (e as Segment | undefined)?.name),
    [undefined, 'a', 'a', 'b', 'b'],
  );
  assert.equal(active(), undefined, 'the test flow itself was not affected');
  // Inside run, enter switches the entity for the rest of that run only.
  run(a, () => {
    enter(b);
    assert.equal(active(), b);
  });
  assert.equal(active(), undefined);
});
