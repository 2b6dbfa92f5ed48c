// The agent must never break or change the app: bad configuration, a missing daemon, hostile
// input, patches that cannot apply or fail at run time, and process exit must all leave the app
// behaving exactly as it would without the agent.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as path from 'node:path';
import { startUdpDaemon, type UdpDaemon } from '../helpers/udp-daemon';
import { spawnApp, runToExit, httpRequest, repoRoot, type RunningApp, type SpawnOptions } from '../helpers/spawn-app';
import { startUpstream, headerFields, type Upstream } from '../helpers/upstream';

const ALWAYS = JSON.stringify({ version: 2, default: { fixed_target: 0, rate: 1 } });
const TRACE_ID_RE = /^1-[0-9a-f]{8}-[0-9a-f]{24}$/;
const fixture = (name: string) => path.join(repoRoot(), 'test', 'fixtures', name);

let daemon: UdpDaemon;
let upstream: Upstream;
before(async () => {
  daemon = await startUdpDaemon();
  upstream = await startUpstream();
});
after(async () => {
  await daemon.close();
  await upstream.close();
});

async function withApp(opts: Partial<SpawnOptions>, fn: (app: RunningApp) => Promise<void>): Promise<RunningApp> {
  const app = await spawnApp({
    script: 'http-app.js',
    ...opts,
    // No sampling proxy in these tests: without this every app would log one (correct) warning
    // that the daemon's TCP proxy is unreachable, and these tests count log lines.
    env: {
      AWS_XRAY_DAEMON_ADDRESS: daemon.address,
      AWS_XRAY_SAMPLING_RULES: ALWAYS,
      AWS_XRAY_CENTRALIZED_SAMPLING: 'false',
      UPSTREAM_URL: upstream.url,
      ...opts.env,
    },
  });
  try {
    await fn(app);
  } finally {
    await app.stop();
  }
  return app;
}

/** The agent's log lines (pino JSON on stderr). */
function logLines(stderr: string): Array<{ level: number; msg: string }> {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string });
}

test('a daemon address with nobody listening: the app works, at most one warning', async () => {
  const closed = await startUpstream();
  const port = closed.port;
  await closed.close();
  const app = await withApp({ env: { AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${port}` } }, async (a) => {
    for (let i = 0; i < 20; i++) {
      const res = await httpRequest(a.url('/hello'));
      assert.equal(res.status, 200);
      assert.equal(res.body, 'hello');
    }
  });
  const lines = logLines(app.stderr);
  assert.ok(lines.length <= 1, `expected at most one log line, got:\n${app.stderr}`);
  for (const l of lines) assert.match(l.msg, /cannot send to the X-Ray daemon/);
  assert.equal(app.stdout.trim().split('\n').length, 1, 'stdout belongs to the app: only its own line');
});

test('garbage configuration values: one warning per key naming it, defaults used, app unaffected', async () => {
  daemon.clear();
  const app = await withApp(
    {
      env: {
        AWS_XRAY_STREAMING_THRESHOLD: 'lots',
        AWS_XRAY_CONTEXT_MISSING: 'PANIC',
        AWS_XRAY_LOG_LEVEL: 'loud',
        AWS_XRAY_MAX_TRACE_BACK: '-3',
        AWS_XRAY_CAPTURE_QUERY_STRING: 'perhaps',
        AWS_XRAY_SAMPLING_RULES: '{not json',
      },
    },
    async (a) => {
      const res = await httpRequest(a.url('/hello'));
      assert.equal(res.body, 'hello');
    },
  );
  const warnings = logLines(app.stderr).filter((l) => l.level === 40);
  for (const key of ['AWS_XRAY_STREAMING_THRESHOLD', 'AWS_XRAY_CONTEXT_MISSING', 'AWS_XRAY_LOG_LEVEL', 'AWS_XRAY_MAX_TRACE_BACK', 'AWS_XRAY_CAPTURE_QUERY_STRING', 'AWS_XRAY_SAMPLING_RULES']) {
    const mine = warnings.filter((w) => w.msg.includes(key));
    assert.equal(mine.length, 1, `one warning for ${key}:\n${app.stderr}`);
    assert.match(mine[0].msg, /using/, 'the warning says which value is used instead');
  }
});

test('an unparseable config file: one error naming the file, agent off, app runs normally', async () => {
  daemon.clear();
  const app = await withApp({ env: { AWS_XRAY_AGENT_CONFIG: fixture('broken-config.json') } }, async (a) => {
    for (let i = 0; i < 3; i++) assert.equal((await httpRequest(a.url('/hello'))).body, 'hello');
    const res = await httpRequest(a.url('/manual'));
    assert.equal(res.body, 'error: Cannot read properties of undefined (reading \'addAnnotation\')', 'getSegment() is undefined with the agent off');
  });
  const lines = logLines(app.stderr);
  assert.equal(lines.length, 1, app.stderr);
  assert.equal(lines[0].level, 50);
  assert.ok(lines[0].msg.includes('broken-config.json'), lines[0].msg);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(daemon.documents.length, 0, 'nothing is traced while the agent is off');
});

test('an unparseable config file with the environment saying otherwise: AWS_XRAY_SDK_ENABLED=false is quiet, AWS_XRAY_LOG_LEVEL=silent too', async () => {
  const cases: Array<Record<string, string>> = [{ AWS_XRAY_SDK_ENABLED: 'false' }, { AWS_XRAY_LOG_LEVEL: 'silent' }];
  for (const env of cases) {
    const app = await withApp({ env: { AWS_XRAY_AGENT_CONFIG: fixture('broken-config.json'), ...env } }, async (a) => {
      assert.equal((await httpRequest(a.url('/hello'))).body, 'hello');
    });
    assert.deepEqual(logLines(app.stderr), [], `${JSON.stringify(env)}: ${app.stderr}`);
  }
});

test('a valid config file is used, and the environment wins over it', async () => {
  daemon.clear();
  await withApp({ env: { AWS_XRAY_AGENT_CONFIG: fixture('agent-config.json') } }, async (a) => {
    await httpRequest(a.url('/hello?x=1'));
    const [seg] = await daemon.waitFor((d) => d.length > 0);
    assert.equal(seg.name, 'from-config-file');
    assert.ok(seg.http?.request?.url?.endsWith('/hello?x=1'), 'captureQueryString from the file');
  });
  daemon.clear();
  await withApp({ env: { AWS_XRAY_AGENT_CONFIG: fixture('agent-config.json'), AWS_XRAY_TRACING_NAME: 'from-env' } }, async (a) => {
    await httpRequest(a.url('/hello'));
    const [seg] = await daemon.waitFor((d) => d.length > 0);
    assert.equal(seg.name, 'from-env');
  });
});

test('1,000 malformed trace headers: every request answered, every trace id valid, no log noise', async () => {
  daemon.clear();
  upstream.requests.length = 0;
  const garbage = (i: number): string => {
    const forms = [
      () => 'Root=1-xyz-abc',
      () => `Root=1-5759e988-bd862e3fe1be46a99427279${i % 10};Parent=nothex!!!;Sampled=2`,
      () => ';;;===;Root;Parent=;Sampled',
      () => 'Root=' + 'f'.repeat(5000),
      () => Array.from({ length: 50 }, (_, k) => `K${k}=${'v'.repeat(20)}`).join(';'),
      () => String.fromCharCode(...Array.from({ length: 40 }, (_, k) => 32 + ((i * 31 + k * 17) % 95))),
      () => 'Root=2-5759e988-bd862e3fe1be46a994272793;Sampled=1',
      () => `root=1-5759E988-BD862E3FE1BE46A99427${String(i).padStart(4, '0')};PARENT=53995C3F42CD8AD8;sampled=1`,
    ];
    return forms[i % forms.length]();
  };
  await withApp({}, async (a) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
    const statuses: number[] = [];
    for (let batch = 0; batch < 50; batch++) {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, k) =>
          httpRequest(a.url('/hello'), { agent, headers: { 'x-amzn-trace-id': garbage(batch * 20 + k) } }),
        ),
      );
      for (const r of results) statuses.push(r.status);
    }
    agent.destroy();
    assert.equal(statuses.length, 1000);
    assert.ok(statuses.every((s) => s === 200));
    const docs = await daemon.waitFor((d) => d.length >= 1000, 15_000);
    for (const d of docs) assert.match(String(d.trace_id), TRACE_ID_RE);
    // The well-formed (case-insensitive, upper-case hex) form is accepted and normalised.
    const accepted = docs.filter((d) => d.parent_id === '53995c3f42cd8ad8');
    assert.equal(accepted.length, 125);
    for (const d of accepted) assert.match(String(d.trace_id), /^1-5759e988-bd862e3fe1be46a99427\d{4}$/);
    // A valid Root with an invalid Parent keeps the Root and drops the Parent.
    const validRootBadParent = docs.filter((d) => String(d.trace_id).startsWith('1-5759e988-bd862e3fe1be46a99427279'));
    assert.equal(validRootBadParent.length, 125);
    assert.ok(validRootBadParent.every((d) => d.parent_id === undefined));
    // Every other header was unusable: a brand-new trace (current epoch), never a reused id.
    const fresh = docs.filter((d) => !String(d.trace_id).startsWith('1-5759e988-'));
    assert.equal(fresh.length, 750, 'an invalid Root is never reused');
    for (const d of fresh) assert.ok(Math.abs(parseInt(String(d.trace_id).slice(2, 10), 16) - Date.now() / 1000) < 120);
  }).then((app) => assert.equal(logLines(app.stderr).length, 0, app.stderr));
});

test('patches that cannot be applied: the app works, untraced', async () => {
  daemon.clear();
  await withApp({ nodeArgs: ['--require', fixture('preload/lock-http.js')] }, async (a) => {
    const res = await httpRequest(a.url('/downstream'));
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { a: 'upstream /a', b: 'upstream /b', c: 'upstream /d' });
  });
});

test('an instrumentation step that throws at run time: the app never notices, the trace goes on', async () => {
  daemon.clear();
  const app = await withApp({ nodeArgs: ['--require', fixture('preload/throwing-header-write.js')] }, async (a) => {
    for (let i = 0; i < 5; i++) {
      const res = await httpRequest(a.url('/hello'));
      assert.equal(res.status, 200);
      assert.equal(res.body, 'hello');
      assert.equal(res.headers['x-amzn-trace-id'], undefined);
    }
    await daemon.waitFor((d) => d.length >= 5);
  });
  const lines = logLines(app.stderr);
  assert.equal(lines.length, 1, 'one warning, not one per request');
});

test('SIGTERM still terminates the app the default way (the agent adds no signal listener)', async () => {
  await withApp({}, async (a) => {
    await httpRequest(a.url('/hello'));
    const t0 = Date.now();
    a.kill('SIGTERM');
    const { signal } = await a.exited;
    assert.equal(signal, 'SIGTERM');
    assert.ok(Date.now() - t0 < 2000);
  });
});

test('an app whose event loop empties exits by itself, and its trace was sent first', async () => {
  daemon.clear();
  const r = await runToExit({
    script: 'exit-natural.js',
    env: { AWS_XRAY_DAEMON_ADDRESS: daemon.address, AWS_XRAY_SAMPLING_RULES: ALWAYS, AWS_XRAY_TRACING_NAME: 'exiter' },
  }, 5000);
  assert.equal(r.code, 0);
  const docs = await daemon.waitFor((d) => d.some((x) => x.name === 'exiter'), 2000);
  assert.ok(docs.some((x) => x.http?.request?.url?.endsWith('/once')));
});

test('process.exit() right after a request: the segment waiting for its burst is sent on the way out', async () => {
  daemon.clear();
  const r = await runToExit({
    script: 'exit-explicit.js',
    // A burst window far longer than the process lives: only the exit hook can send it in time.
    env: { AWS_XRAY_DAEMON_ADDRESS: daemon.address, AWS_XRAY_SAMPLING_RULES: ALWAYS, AWS_XRAY_TRACING_NAME: 'exit-now', AWS_XRAY_SEND_BATCH_MS: '1000' },
  }, 5000);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.durationMs < 1000 + 2000, 'exited without waiting for the burst window');
  const docs = await daemon.waitFor((d) => d.some((x) => x.name === 'exit-now'), 2000);
  assert.ok(docs.some((x) => x.http?.request?.url?.endsWith('/exit')));
});

test('process.exit() inside the response\'s close listener: the segment waiting for the end of the turn is sent on the way out', async () => {
  daemon.clear();
  const r = await runToExit({
    script: 'exit-explicit.js',
    env: { AWS_XRAY_DAEMON_ADDRESS: daemon.address, AWS_XRAY_SAMPLING_RULES: ALWAYS, AWS_XRAY_TRACING_NAME: 'exit-sync', EXIT_SYNC: '1' },
  }, 5000);
  assert.equal(r.code, 0, r.stderr);
  const docs = await daemon.waitFor((d) => d.some((x) => x.name === 'exit-sync' && x.http?.request?.url?.endsWith('/exit')), 2000);
  const exitDoc = docs.find((x) => x.http?.request?.url?.endsWith('/exit'));
  assert.equal(exitDoc?.http?.response?.status, 200);
});

test('process.exit() as the process\'s very first request ends, or while its segment waits for a subsegment: nothing is lost', async () => {
  // The socket is opened while the first traced request runs, not when its document is ready:
  // process.exit() leaves no time to connect.
  const byName = `localhost:${daemon.address.split(':')[1]}`;
  const cases: Array<[string, Record<string, string>]> = [
    ['exit-cold', {}],
    ['exit-cold-sync', { EXIT_SYNC: '1' }],
    ['exit-cold-held', { HELD: '1' }],
    // A daemon named by a host name: looked up as soon as the app has started.
    ['exit-cold-named', { EXIT_SYNC: '1', AWS_XRAY_DAEMON_ADDRESS: byName }],
  ];
  for (const [name, extra] of cases) {
    daemon.clear();
    const r = await runToExit({
      script: 'exit-explicit.js',
      env: { AWS_XRAY_DAEMON_ADDRESS: daemon.address, AWS_XRAY_SAMPLING_RULES: ALWAYS, AWS_XRAY_TRACING_NAME: name, COLD: '1', ...extra },
    }, 5000);
    assert.equal(r.code, 0, r.stderr);
    const docs = await daemon.waitFor((d) => d.some((x) => x.name === name), 2000);
    const doc = docs.find((x) => x.name === name)!;
    assert.ok(doc.http?.request?.url?.endsWith('/exit'), name);
    if (extra.HELD === '1') assert.equal(doc.subsegments?.[0]?.in_progress, true, `${name}: the open subsegment goes as in progress`);
  }
});

test('an app that freezes the timers (fake timers in its tests): its requests are still traced and sent', async () => {
  daemon.clear();
  await withApp({ script: 'fake-timers-app.js', env: { AWS_XRAY_TRACING_NAME: 'frozen-time' } }, async (a) => {
    for (let i = 0; i < 3; i++) assert.equal((await httpRequest(a.url(`/frozen/${i}`))).body, 'ok');
    // Sent by the agent's own timers: the end of the turn, then the burst's 5 ms window.
    const docs = await daemon.waitFor((d) => d.filter((x) => x.name === 'frozen-time').length === 3, 3000);
    assert.deepEqual(
      docs.filter((x) => x.name === 'frozen-time').map((x) => x.http?.request?.url?.replace(/^.*\/frozen/, '')).sort(),
      ['/0', '/1', '/2'],
    );
  });
});

test('debug logging lists the resolved config and what was instrumented, on stderr', async () => {
  const app = await withApp({ env: { AWS_XRAY_LOG_LEVEL: 'debug' } }, async (a) => {
    await httpRequest(a.url('/hello'));
  });
  const started = logLines(app.stderr).find((l) => l.msg === '@xray/agent started') as
    | { config: Record<string, unknown>; instrumentations: Record<string, string> }
    | undefined;
  assert.ok(started, app.stderr);
  assert.equal(started.config.daemonAddress, daemon.address);
  assert.ok(Object.keys(started.instrumentations).some((k) => k.startsWith('http')));
  assert.ok(Object.keys(started.instrumentations).some((k) => k.startsWith('fetch')));
});

test('AWS_XRAY_DISABLED_INSTRUMENTATIONS=fetch leaves fetch untraced, http still traced', async () => {
  daemon.clear();
  upstream.requests.length = 0;
  await withApp({ env: { AWS_XRAY_DISABLED_INSTRUMENTATIONS: 'fetch' } }, async (a) => {
    const root = '1-5759e988-0000000000000000000f0000';
    await httpRequest(a.url('/downstream'), { headers: { 'x-amzn-trace-id': `Root=${root};Sampled=1` } });
    const [seg] = await daemon.waitFor((d) => d.some((x) => x.trace_id === root));
    assert.equal(seg.subsegments?.length, 3, 'three http.get calls, the fetch call untraced');
    const viaFetch = upstream.requests.find((r) => r.path.startsWith('/b'));
    assert.equal(viaFetch?.traceHeader, undefined);
    assert.equal(headerFields(upstream.requests.find((r) => r.path.startsWith('/a'))?.traceHeader).Root, root);
  });
});

test('AWS_XRAY_DISABLED_INSTRUMENTATIONS with a name that is no instrumentation\'s: one warning naming it, the others still applied', async () => {
  daemon.clear();
  const app = await withApp({ env: { AWS_XRAY_DISABLED_INSTRUMENTATIONS: 'postgres,fetch,expres' } }, async (a) => {
    const root = '1-5759e988-0000000000000000000f0001';
    await httpRequest(a.url('/downstream'), { headers: { 'x-amzn-trace-id': `Root=${root};Sampled=1` } });
    const [seg] = await daemon.waitFor((d) => d.some((x) => x.trace_id === root));
    assert.equal(seg.subsegments?.length, 3, 'fetch is still off');
  });
  const warnings = logLines(app.stderr).filter((l) => l.level === 40);
  assert.equal(warnings.length, 1, app.stderr);
  assert.match(warnings[0]!.msg, /AWS_XRAY_DISABLED_INSTRUMENTATIONS names no instrumentation: postgres, expres;/);
});

test('AWS_XRAY_SDK_ENABLED=false: nothing patched, nothing sent', async () => {
  daemon.clear();
  upstream.requests.length = 0;
  await withApp({ env: { AWS_XRAY_SDK_ENABLED: 'false' } }, async (a) => {
    const res = await httpRequest(a.url('/downstream'));
    assert.equal(res.headers['x-amzn-trace-id'], undefined);
    assert.ok(upstream.requests.every((r) => r.traceHeader === undefined));
  });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(daemon.documents.length, 0);
});
