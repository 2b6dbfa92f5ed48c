// `xray-agent listen`: the listener in-process (exact printed tree, continuation, rejections,
// ndjson) and the real CLI as a child process (prints a tree, exits on SIGTERM).

import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { startListener } from '../../bin/listen';
import { repoRoot, runToExit, spawnApp } from '../helpers/spawn-app';

const HEADER = '{"format":"json","version":1}\n';
const TRACE = '1-66575740-bd862e3fe1be46a994272793';

const datagram = (body: unknown): Buffer => Buffer.from(HEADER + JSON.stringify(body));

// A segment whose embedded HTTP subsegment failed, a streamed DynamoDB call under that
// subsegment, and a streamed local subsegment under the DynamoDB call (two levels streamed).
const segment = {
  name: 'orders-api',
  id: '70de5b6f19ff9a0a',
  trace_id: TRACE,
  start_time: 1717000000.1,
  end_time: 1717000000.4,
  http: { request: { method: 'GET', url: 'https://orders.example.com/orders/17' }, response: { status: 502 } },
  fault: true,
  cause: '1834c7028acf6f88',
  subsegments: [
    {
      name: 'inventory.internal',
      id: '004f72be19cddc2a',
      namespace: 'remote',
      start_time: 1717000000.15,
      end_time: 1717000000.35,
      http: { request: { method: 'GET', url: 'http://inventory.internal:8080/stock' }, response: { status: 503 } },
      fault: true,
      cause: {
        working_directory: '/srv/app',
        exceptions: [
          { id: '1834c7028acf6f88', type: 'Error', message: 'upstream said no', stack: [{ path: 'src/stock.js', line: 12, label: 'getStock' }] },
        ],
      },
    },
  ],
};
const dynamo = {
  name: 'DynamoDB',
  id: '24756640c0d0978a',
  trace_id: TRACE,
  parent_id: '004f72be19cddc2a',
  type: 'subsegment',
  namespace: 'aws',
  start_time: 1717000000.2,
  end_time: 1717000000.25,
  http: { response: { status: 400 } },
  aws: { operation: 'GetItem', table_name: 'orders' },
  error: true,
  cause: { exceptions: [{ id: '2834c7028acf6f88', type: 'ResourceNotFoundException', message: 'Requested resource not found', remote: true }] },
};
const retryWait = {
  name: 'retry-wait',
  id: '1111222233334444',
  trace_id: TRACE,
  parent_id: '24756640c0d0978a',
  type: 'subsegment',
  start_time: 1717000000.21,
  end_time: 1717000000.22,
};
const late = {
  name: 'late-cleanup',
  id: '5555666677778888',
  trace_id: TRACE,
  parent_id: '70de5b6f19ff9a0a',
  type: 'subsegment',
  start_time: 1717000000.45,
  end_time: 1717000000.46,
};

const EXPECTED_TREE = `trace 1-66575740-bd862e3fe1be46a994272793  (3 documents)
  orders-api  300.0ms  502  fault  GET https://orders.example.com/orders/17
    ! Error: upstream said no  (see 1834c7028acf6f88)
    inventory.internal  200.0ms  503  fault  (remote) GET http://inventory.internal:8080/stock
      ! Error: upstream said no  at getStock (src/stock.js:12)
      DynamoDB  50.0ms  400  error  (aws) GetItem orders  ~streamed
        ! ResourceNotFoundException: Requested resource not found (remote)
        retry-wait  10.0ms  ~streamed
`;

const EXPECTED_CONTINUATION = `trace 1-66575740-bd862e3fe1be46a994272793  (1 document, continued)
  late-cleanup  10.0ms  ↳ under orders-api 70de5b6f19ff9a0a
`;

function collector(): { out: Writable; text: () => string } {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { out, text: () => text };
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function sendAll(port: number, buffers: Buffer[]): Promise<void> {
  const client = dgram.createSocket('udp4');
  try {
    for (const buf of buffers) {
      await new Promise<void>((resolve, reject) => client.send(buf, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    }
  } finally {
    client.close();
  }
}

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('startListener', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-listen-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('prints one tree per trace, continuations, and rejected datagrams', async () => {
    const { out, text } = collector();
    const ndjson = path.join(tmp, 'docs.ndjson');
    const listener = await startListener({ port: 0, quietMs: 100, out, ndjson });
    try {
      assert.ok(listener.port > 0);
      // Streamed children first, the way an agent sends them (children close before parents).
      await sendAll(listener.port, [datagram(retryWait), datagram(dynamo), datagram(segment)]);
      await until('the tree', () => text().includes('retry-wait'));
      // `out` is not a TTY, so no colour codes.
      assert.equal(text(), EXPECTED_TREE + '\n');

      await sendAll(listener.port, [datagram(late), Buffer.from('{"format":"json","version":2}\n{}')]);
      await until('the continuation', () => text().includes('late-cleanup'));
      const rest = text().slice(EXPECTED_TREE.length + 1);
      assert.match(rest, /^rejected datagram from 127\.0\.0\.1:\d+ \(32 bytes\): invalid header: version must be the number 1: \{"format":"json","version":2\}$/m);
      assert.ok(rest.includes(EXPECTED_CONTINUATION), rest);
    } finally {
      await listener.close();
    }
    const lines = fs.readFileSync(ndjson, 'utf8').trimEnd().split('\n');
    assert.deepEqual(lines.map((l) => JSON.parse(l)), [retryWait, dynamo, segment, late]);
  });

  test('odd documents that are still JSON (null subsegments, an object for a name) are printed, and the listener goes on', async () => {
    const { out, text } = collector();
    const listener = await startListener({ port: 0, quietMs: 30, out });
    try {
      const odd = (n: number, extra: Record<string, unknown>) => ({ trace_id: `1-aaaaaaaa-00000000000000000000000${n}`, id: `a00000000000000${n}`, name: 'odd', start_time: 1, end_time: 2, ...extra });
      await sendAll(listener.port, [datagram(odd(1, { subsegments: [null, 3, { name: 'inner', id: 'b000000000000001', start_time: 1.5, end_time: 1.6 }] })), datagram(odd(2, { name: { toString: 1 } }))]);
      await until('both trees', () => text().includes('inner') && text().includes('{"toString":1}'));
      // Still listening: a well-formed trace afterwards is printed too.
      await sendAll(listener.port, [datagram(segment)]);
      await until('the next tree', () => text().includes('orders-api'));
    } finally {
      await listener.close();
    }
  });

  test('close() prints traces still waiting for their quiet period', async () => {
    const { out, text } = collector();
    const listener = await startListener({ port: 0, quietMs: 60_000, out });
    await sendAll(listener.port, [datagram(late)]);
    // Nothing prints for 60 s; give the datagram time to arrive, then close.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(text(), '');
    await listener.close();
    assert.match(text(), /late-cleanup  10\.0ms  ↳ under 70de5b6f19ff9a0a/);
  });

  test('colour only when asked (or when out is a colour TTY)', async () => {
    const { out, text } = collector();
    const listener = await startListener({ port: 0, quietMs: 20, out, color: true });
    await sendAll(listener.port, [datagram(segment)]);
    await until('the tree', () => text().includes('orders-api'));
    await listener.close();
    assert.match(text(), /\u001b\[1morders-api\u001b\[22m/);
    assert.match(text(), /\u001b\[31mfault\u001b\[39m/);
  });

  test('a port in use fails start-up', async () => {
    const first = await startListener({ port: 0, out: collector().out });
    try {
      await assert.rejects(startListener({ port: first.port, out: collector().out }), /EADDRINUSE/);
    } finally {
      await first.close();
    }
  });
});

describe('xray-agent CLI', () => {
  const cli = path.join(repoRoot(), 'dist', 'bin', 'xray-agent.js');

  test('listen prints a tree and exits cleanly on SIGTERM', async () => {
    const port = await freeUdpPort();
    const app = await spawnApp({ script: cli, loader: 'none', args: ['listen', '--port', String(port), '--quiet-ms', '50'], waitForPort: false });
    try {
      await until('the listening line', () => app.stderr.includes('listening on udp'));
      assert.match(app.stderr, new RegExp(`AWS_XRAY_DAEMON_ADDRESS=127\\.0\\.0\\.1:${port}`));
      await sendAll(port, [datagram(retryWait), datagram(dynamo), datagram(segment)]);
      await until('the tree on stdout', () => app.stdout.includes('retry-wait'));
      assert.equal(app.stdout, EXPECTED_TREE + '\n', 'stdout is a pipe: no colour');
    } finally {
      const exit = await app.stop();
      assert.deepEqual(exit, { code: 0, signal: null }, app.stderr);
    }
  });

  test('--version, --help, and usage errors', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { version: string };
    const run = (...args: string[]) => runToExit({ script: cli, loader: 'none', args });

    const version = await run('--version');
    assert.equal(version.code, 0);
    assert.equal(version.stdout, pkg.version + '\n');

    const help = await run('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: xray-agent <command>/);
    assert.match(help.stdout, /listen {2}receive X-Ray documents/);

    const listenHelp = await run('listen', '--help');
    assert.equal(listenHelp.code, 0);
    assert.match(listenHelp.stdout, /--ndjson FILE/);

    const unknown = await run('frobnicate');
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stdout, '');
    assert.match(unknown.stderr, /unknown command "frobnicate"[\s\S]*Usage: xray-agent/);

    const badFlag = await run('listen', '--bogus');
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /Usage: xray-agent listen/);

    const badPort = await run('listen', '--port', '70000');
    assert.equal(badPort.code, 2);

    const none = await run();
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Usage: xray-agent/);
  });
});
