// How the agent starts, typed the way users type it, and what its start-up costs a process that
// has not traced anything yet.
// - `--import @xray/agent` resolves (package.json "exports", condition "import") to register.mjs,
//   `--require @xray/agent` to register.js; both start the agent (run from the repository, where
//   the package resolves its own name, as it does from an app's node_modules).
// - Every module the agent does not need before its first trace is left unloaded (figures:
//   bench/RESULTS.md). node:crypto alone is ~5 ms to load; it comes with the first trace id.
//   node:perf_hooks (and eleven modules behind it, ~1 ms) comes with the first entity's clock.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnApp, runToExit, httpRequest, repoRoot, type Loader } from '../helpers/spawn-app';
import { startUdpDaemon, type UdpDaemon } from '../helpers/udp-daemon';

const ALWAYS = JSON.stringify({ version: 2, default: { fixed_target: 0, rate: 1 } });
let daemon: UdpDaemon;

before(async () => {
  daemon = await startUdpDaemon();
});

after(async () => {
  await daemon.close();
});

for (const flag of ['--import', '--require']) {
  test(`node ${flag} @xray/agent app.mjs: the package name resolves and the app's requests are traced`, async () => {
    const name = `startup${flag.replace(/-/g, '_')}`;
    const app = await spawnApp({
      script: 'http-app.mjs',
      loader: 'none',
      nodeArgs: [flag, '@xray/agent'],
      cwd: repoRoot(),
      env: { AWS_XRAY_DAEMON_ADDRESS: daemon.address, AWS_XRAY_SAMPLING_RULES: ALWAYS, AWS_XRAY_TRACING_NAME: name, AWS_XRAY_LOG_LEVEL: 'debug' },
    });
    try {
      const res = await httpRequest(app.url('/hello'));
      assert.equal(res.status, 200);
      const docs = await daemon.waitFor((d) => d.some((x) => x.name === name));
      assert.ok(docs.some((x) => x.name === name && x.http?.request?.url?.endsWith('/hello')));
    } finally {
      await app.stop();
      // Started once, though the app imports the package too (one module instance).
      assert.equal(app.stderr.split('@xray/agent started').length - 1, 1, app.stderr);
    }
  });
}

// 'none' is the control: it shows the fixture really sees these modules unloaded without the agent.
for (const loader of ['require', 'import', 'none'] as Loader[]) {
  test(`start-up with ${loader === 'none' ? 'no agent' : `--${loader}`}: no node:crypto, node:http, node:dgram or node:perf_hooks before anything is traced`, async () => {
    // Centralized sampling on (the default): its modules are built by a timer right after start.
    const r = await runToExit({ script: 'startup-weight.mjs', loader, env: { AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:9' } }, 10_000);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim()), { crypto: false, http: false, dgram: false, perf_hooks: false }, r.stderr);
  });
}
