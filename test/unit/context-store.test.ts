// Both context stores (agent/context-store.ts) behave as AsyncLocalStorage does: the same flows,
// the same isolation, the same restore rules. The agent uses one per process (the hook store where
// AsyncLocalStorage keeps its value on async resources, AsyncLocalStorage itself elsewhere); both
// are run here on every Node version, so a difference between them shows up on any of them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncResource } from 'node:async_hooks';
import { createServer, request, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import * as diagnostics from 'node:diagnostics_channel';
import { AlsStore, ResourceHookStore, alsKeepsStoreOnResources, chooseEntityStore, createEntityStore, type EntityStore } from '../../agent/context-store';
import { contextKind } from '../../agent/context';

type Ctx = { name: string };

const kinds: Array<[string, () => EntityStore<Ctx>]> = [
  ['resource hook', () => new ResourceHookStore<Ctx>()],
  ['AsyncLocalStorage', () => new AlsStore<Ctx>()],
  ['deferred choice', () => createEntityStore<Ctx>()],
];

test('the agent picks the hook store exactly where AsyncLocalStorage keeps its value on resources', () => {
  assert.equal(chooseEntityStore().kind, alsKeepsStoreOnResources() ? 'resource-hook' : 'async-local-storage');
  // Node 20 and 22 keep it on resources unless a flag says otherwise; 24 uses async context frames.
  const major = Number(process.versions.node.split('.')[0]);
  const flags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  const frames = flags.includes('no-async-context-frame') ? false : flags.includes('async-context-frame') || major >= 24;
  assert.equal(contextKind(), frames ? 'async-local-storage' : 'resource-hook');
});

for (const [label, make] of kinds) {
  test(`${label}: nothing before the first run; run returns fn's value, nests, restores after a throw`, () => {
    const store = make();
    assert.equal(store.getStore(), undefined);
    const a = { name: 'a' };
    const b = { name: 'b' };
    const out = store.run(a, (x: number, y: number) => {
      assert.equal(store.getStore(), a);
      const inner = store.run(b, () => store.getStore());
      assert.equal(inner, b);
      assert.equal(store.getStore(), a, 'outer value back after a nested run');
      assert.throws(() => store.run(b, () => { throw new RangeError('x'); }), RangeError);
      assert.equal(store.getStore(), a, 'restored after a throw');
      store.run(undefined, () => assert.equal(store.getStore(), undefined, 'run(undefined) hides the outer value'));
      return x + y;
    }, 2, 3);
    assert.equal(out, 5);
    assert.equal(store.getStore(), undefined);
    const self = {};
    assert.equal(store.runApply(a, function (this: unknown, p: number) { return this === self && store.getStore() === a ? p : -1; }, self, [7]), 7);
  });

  test(`${label}: the value follows await, timers, immediates, ticks, microtasks, promise chains and AsyncResource`, async () => {
    const store = make();
    const ctx = { name: 'flow' };
    const seen: Record<string, Ctx | undefined> = {};
    let resource!: AsyncResource;
    await store.run(ctx, async () => {
      await null;
      seen.await = store.getStore();
      await sleep(2);
      seen.timer = store.getStore();
      await new Promise<void>((r) => setImmediate(() => { seen.immediate = store.getStore(); r(); }));
      await new Promise<void>((r) => process.nextTick(() => { seen.tick = store.getStore(); r(); }));
      await new Promise<void>((r) => queueMicrotask(() => { seen.microtask = store.getStore(); r(); }));
      await Promise.resolve().then(() => { seen.then = store.getStore(); });
      resource = new AsyncResource('test');
    });
    assert.equal(store.getStore(), undefined);
    resource.runInAsyncScope(() => (seen.asyncResource = store.getStore()));
    for (const k of ['await', 'timer', 'immediate', 'tick', 'microtask', 'then', 'asyncResource']) assert.equal(seen[k], ctx, k);
  });

  test(`${label}: work scheduled outside any run sees nothing, also after runs elsewhere`, async () => {
    const store = make();
    store.run({ name: 'earlier' }, () => undefined);
    const seen = await new Promise<Ctx | undefined>((r) => setTimeout(() => r(store.getStore()), 1));
    assert.equal(seen, undefined);
    const tick = await new Promise<Ctx | undefined>((r) => process.nextTick(() => r(store.getStore())));
    assert.equal(tick, undefined);
  });

  test(`${label}: enterWith sets the value for the rest of the flow and what it schedules`, async () => {
    const store = make();
    const ctx = { name: 'entered' };
    const seen = await new Promise<Ctx | undefined>((resolve) => {
      setImmediate(() => {
        store.enterWith(ctx);
        setTimeout(() => resolve(store.getStore()), 1);
      });
    });
    assert.equal(seen, ctx);
  });

  // Reads and writes mixed within one callback, where the hook store answers reads from what it
  // remembered for the current execution context: every write must show in the next read, and in
  // what is scheduled after it, but not in what was scheduled before it.
  test(`${label}: within one callback, reads follow run, enterWith and the restore after them`, async () => {
    const store = make();
    const [a, b, c] = [{ name: 'a' }, { name: 'b' }, { name: 'c' }];
    const scheduled = await new Promise<Array<Ctx | undefined>>((resolve) => {
      setImmediate(() => {
        const out: Array<Ctx | undefined> = [];
        const later = (i: number) => setImmediate(() => (out[i] = store.getStore()));
        assert.equal(store.getStore(), undefined);
        later(0);
        store.run(a, () => {
          assert.equal(store.getStore(), a);
          later(1);
          assert.equal(store.run(b, () => (later(2), store.getStore())), b);
          assert.equal(store.getStore(), a, 'restored after the nested run');
          later(3);
        });
        assert.equal(store.getStore(), undefined, 'restored after the run');
        store.enterWith(c);
        assert.equal(store.getStore(), c, 'enterWith shows at once');
        later(4);
        setTimeout(() => resolve(out), 5);
      });
    });
    assert.deepEqual(scheduled, [undefined, a, b, a, c]);
  });

  test(`${label}: an interval keeps its value at every tick, also after runs inside a tick`, async () => {
    const store = make();
    const a = { name: 'a' };
    const seen = await new Promise<Array<Ctx | undefined>>((resolve) => {
      const out: Array<Ctx | undefined> = [];
      store.run(a, () => {
        const timer = setInterval(() => {
          out.push(store.getStore());
          store.run({ name: 'inner' }, () => undefined);
          out.push(store.getStore());
          if (out.length >= 6) {
            clearInterval(timer);
            resolve(out);
          }
        }, 1);
      });
    });
    assert.deepEqual(seen, [a, a, a, a, a, a]);
  });

  test(`${label}: 50 interleaved flows never see each other's value`, async () => {
    const store = make();
    const wrong: string[] = [];
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const ctx = { name: `f${i}` };
        return store.run(ctx, async () => {
          for (let step = 0; step < 4; step++) {
            if ((i + step) % 3 === 0) await sleep(i % 4);
            else if ((i + step) % 3 === 1) await new Promise((r) => setImmediate(r));
            else await new Promise((r) => process.nextTick(r));
            if (store.getStore() !== ctx) wrong.push(`${ctx.name}@${step}`);
          }
        });
      }),
    );
    assert.deepEqual(wrong, []);
  });

  test(`${label}: a real HTTP exchange inside run keeps the value in its callbacks; the server side sees none`, async () => {
    const store = make();
    const ctx = { name: 'client' };
    let serverSaw: Ctx | undefined | 'unset' = 'unset';
    const server: Server = createServer((_req, res) => {
      serverSaw = store.getStore();
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as { port: number };
      const seen = await store.run(ctx, () =>
        new Promise<Array<Ctx | undefined>>((resolve, reject) => {
          const got: Array<Ctx | undefined> = [];
          const req = request({ port, host: '127.0.0.1', agent: false }, (res) => {
            got.push(store.getStore());
            res.on('data', () => got.push(store.getStore()));
            res.on('end', () => { got.push(store.getStore()); resolve(got); });
          });
          req.on('error', reject);
          req.end();
        }),
      );
      assert.ok(seen.length >= 3);
      for (const s of seen) assert.equal(s, ctx);
      assert.equal(serverSaw, undefined, 'the server handler runs in its own connection context');
    } finally {
      server.close();
    }
  });

  test(`${label}: diagnostics_channel bindStore runs the subscriber's code with the transformed value`, () => {
    const store = make();
    const channel = diagnostics.channel(`@xray/agent:test-${label}`) as unknown as {
      bindStore(store: unknown, transform: (m: unknown) => unknown): void;
      unbindStore(store: unknown): void;
      runStores(data: unknown, fn: () => unknown): unknown;
    };
    channel.bindStore(store, (m) => ({ name: String((m as { id: string }).id) }));
    const got = channel.runStores({ id: 'msg' }, () => store.getStore()) as Ctx | undefined;
    channel.unbindStore(store);
    assert.deepEqual(got, { name: 'msg' });
  });
}

test('resource hook: a resource that throws when its slot is read goes without context; the process lives on', async () => {
  const store = new ResourceHookStore<Ctx>();
  const ctx = { name: 'x' };
  // Reading any agent symbol through this class's prototype throws. Created outside any run, the
  // hook reads the slot (to clear a stale value): an exception there would be fatal in Node.
  let reads = 0;
  class Hostile extends AsyncResource {}
  Object.setPrototypeOf(
    Hostile.prototype,
    new Proxy(AsyncResource.prototype, {
      get(target, key, receiver) {
        if (typeof key === 'symbol' && String(key).includes('xray')) {
          reads++;
          throw new Error('hostile');
        }
        return Reflect.get(target, key, receiver);
      },
    }),
  );
  const r = new Hostile('hostile');
  assert.ok(reads >= 1, 'the hook did read through the hostile prototype');
  assert.equal(typeof r.runInAsyncScope, 'function');
  const seen = await store.run(ctx, () => new Promise((resolve) => setImmediate(() => resolve(store.getStore()))));
  assert.equal(seen, ctx);
});
