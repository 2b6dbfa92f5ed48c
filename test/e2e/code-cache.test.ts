// register.js compiles the bundle with V8's code cache (dist/agent.cache, made by the build). The
// cache the build wrote must be one this Node accepts (else every start pays the compile again),
// and a cache V8 rejects (another Node version, a stale or damaged file) must change nothing but
// the start-up time: the agent starts, traces, and the app sees one module instance.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import Module from 'node:module';
import { startUdpDaemon, type UdpDaemon } from '../helpers/udp-daemon';
import { spawnApp, runToExit, httpRequest, repoRoot } from '../helpers/spawn-app';

const ALWAYS = JSON.stringify({ version: 2, default: { fixed_target: 0, rate: 1 } });
const bundle = path.join(repoRoot(), 'dist', 'agent.js');

let daemon: UdpDaemon;
before(async () => {
  daemon = await startUdpDaemon();
});
after(async () => {
  await daemon.close();
});

/** What register.js, preloaded into a fixture with `flags`, did with the code cache. */
async function codeCacheStatus(flags: string[]): Promise<{ file: string; rejected: boolean | undefined }> {
  const r = await runToExit({
    script: path.join(repoRoot(), 'test', 'fixtures', 'code-cache-status.js'),
    loader: 'none',
    nodeArgs: [...flags, '--require', path.join(repoRoot(), 'register.js')],
    env: { AWS_XRAY_SDK_ENABLED: 'false' },
  });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { file: string; rejected: boolean | undefined };
}

test('node without flags gets the cache the build wrote, and V8 accepts it', async () => {
  const status = await codeCacheStatus([]);
  assert.equal(status.file, path.join(repoRoot(), 'dist', 'agent.cache'));
  assert.equal(status.rejected, false);
});

test('the bundle has no import(): code compiled through node:vm cannot use it on Node 20', () => {
  // Strings and comments aside, a dynamic import is `import(`; the bundle is plain JavaScript.
  const source = fs.readFileSync(bundle, 'utf8');
  const found = /(^|[^\w$.])import\s*\(/m.exec(source);
  assert.equal(found, null, found ? source.slice(Math.max(0, found.index - 200), found.index + 100) : '');
});

test('a process started with the Lambda runtime\'s flags (512 MB) gets the cache made for them, and V8 accepts it', async () => {
  // The flags of the Lambda Node.js runtime's bootstrap for a 512 MB function.
  const status = await codeCacheStatus(['--expose-gc', '--max-http-header-size', '81920', '--max-semi-space-size=25', '--max-old-space-size=461']);
  assert.equal(path.basename(status.file), 'agent--expose-gc--max-old-space-size=461--max-semi-space-size=25.cache');
  assert.equal(status.rejected, false);
});

test('a process with V8 flags no cache was made for compiles the bundle as usual', async () => {
  const status = await codeCacheStatus(['--max-old-space-size=777']);
  assert.equal(path.basename(status.file), 'agent--max-old-space-size=777.cache');
  assert.equal(status.rejected, undefined, 'no such file: V8 compiled the bundle from source');
});

/** A copy of the package (register.js + bundle) whose cache file holds `cache`. */
function packageCopy(cache: Buffer | undefined): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-code-cache-'));
  fs.mkdirSync(path.join(dir, 'dist'));
  fs.copyFileSync(path.join(repoRoot(), 'register.js'), path.join(dir, 'register.js'));
  fs.copyFileSync(path.join(repoRoot(), 'package.json'), path.join(dir, 'package.json'));
  fs.copyFileSync(bundle, path.join(dir, 'dist', 'agent.js'));
  if (cache !== undefined) fs.writeFileSync(path.join(dir, 'dist', 'agent.cache'), cache);
  fs.symlinkSync(path.join(repoRoot(), 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  // The app: one route, and a check that require('<pkg>/dist/agent.js') is the instance register.js gave.
  fs.writeFileSync(
    path.join(dir, 'app.js'),
    `const http = require('node:http');
const viaRegister = require('./register.js');
const same = require('./dist/agent.js') === viaRegister;
const server = http.createServer((req, res) => {
  viaRegister.getSegment().addAnnotation('same_instance', same);
  res.end('ok');
});
server.listen(0, '127.0.0.1', () => process.stdout.write('LISTENING ' + server.address().port + '\\n'));
`,
  );
  return dir;
}

for (const [label, cache] of [
  ['a damaged cache file', Buffer.from('not a V8 code cache')],
  ['a cache made for another source', Buffer.alloc(0)],
  ['no cache file', undefined],
] as const) {
  test(`${label}: the agent starts, traces, and the app sees one module instance`, async () => {
    let data = cache;
    if (data !== undefined && data.length === 0) {
      // A real cache, but of other code: what a cache left from an older build looks like.
      const other = new vm.Script(Module.wrap('module.exports = 1;'), { filename: bundle });
      data = other.createCachedData();
    }
    const dir = packageCopy(data);
    try {
      const app = await spawnApp({
        script: path.join(dir, 'app.js'),
        loader: 'none',
        nodeArgs: ['--require', path.join(dir, 'register.js')],
        env: { AWS_XRAY_DAEMON_ADDRESS: daemon.address, AWS_XRAY_SAMPLING_RULES: ALWAYS, AWS_XRAY_CENTRALIZED_SAMPLING: 'false', AWS_XRAY_TRACING_NAME: `cache-${label}` },
      });
      try {
        const res = await httpRequest(app.url('/'));
        assert.equal(res.status, 200);
        assert.equal(res.body, 'ok');
        const docs = await daemon.waitFor((all) => all.some((d) => d.name === `cache-${label}`));
        const segment = docs.find((d) => d.name === `cache-${label}`)!;
        assert.deepEqual(segment.annotations, { same_instance: true });
      } finally {
        await app.stop();
      }
      assert.equal(app.stderr, '', 'nothing logged');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
