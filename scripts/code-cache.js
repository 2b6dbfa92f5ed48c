'use strict';
// Writes dist/agent*.cache: V8's code cache for the bundle dist/agent.js, which register.js hands
// to V8 so that the bundle and its start-up functions need no compiling in the user's process
// (measured: ~6 ms of every start, ~15 ms of a Lambda cold start). Run by `npm run build` after the
// bundle.
//
// V8 accepts a cache only from a process with the same V8 flags. One cache is made for node
// without flags (agent.cache), and one for each common Lambda memory size: the Lambda Node.js
// runtime starts node with --expose-gc and heap sizes derived from AWS_LAMBDA_FUNCTION_MEMORY_SIZE
// (new space a tenth, half of it per semi-space, old space the rest). register.js picks the file
// named after the process's flags. XRAY_AGENT_LAMBDA_MEMORY_SIZES (comma-separated MB) replaces
// the list of sizes, for functions of other sizes.
//
// Each cache is made in a child process that loads the agent through register.js and serves one
// traced request, so the functions of the start-up path and of the request path are in it (V8
// caches every function compiled so far). The child points the agent at a UDP socket of its own:
// nothing leaves this machine during a build. A cache is only valid for the Node version that
// made it; register.js falls back to compiling when V8 rejects it.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const DEFAULT_LAMBDA_MEMORY_SIZES = [128, 256, 512, 1024, 1536, 2048, 3008];

/** The V8 flags the Lambda runtime gives node for a function of `memory` MB. */
function lambdaFlags(memory) {
  const newSpace = Math.floor(memory / 10);
  return ['--expose-gc', `--max-semi-space-size=${Math.floor(newSpace / 2)}`, `--max-old-space-size=${memory - newSpace}`];
}

if (process.argv[2] === '--child') {
  train();
} else {
  for (const f of fs.readdirSync(path.join(root, 'dist'))) {
    if (/^agent.*\.cache$/.test(f)) fs.rmSync(path.join(root, 'dist', f), { force: true });
  }
  const sizes = (process.env.XRAY_AGENT_LAMBDA_MEMORY_SIZES || DEFAULT_LAMBDA_MEMORY_SIZES.join(','))
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n >= 128 && n <= 10240);
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k !== 'NODE_OPTIONS' && !k.startsWith('AWS_') && !k.startsWith('_X_AMZN') && k !== 'LAMBDA_TASK_ROOT') env[k] = v;
  }
  for (const flags of [[], ...sizes.map(lambdaFlags)]) {
    const r = spawnSync(process.execPath, [...flags, __filename, '--child'], { env, stdio: 'inherit', timeout: 30000 });
    if (r.status !== 0) {
      // The agent works without a cache, only its start-up is slower: say so, do not fail the build.
      process.stderr.write(`code-cache: no cache written for node ${flags.join(' ') || '(no flags)'} (child exited ${r.status ?? r.signal}); start-up compiles the bundle\n`);
    }
  }
}

/**
 * Loads the agent through register.js, as users do (so the cache is of the very script it compiles,
 * under the file name it looks for with this process's flags), serves one request, writes the cache.
 */
function train() {
  const dgram = require('node:dgram');
  const sink = dgram.createSocket('udp4');
  sink.on('message', () => {});
  sink.bind(0, '127.0.0.1', () => {
    process.env.AWS_XRAY_DAEMON_ADDRESS = `127.0.0.1:${sink.address().port}`;
    process.env.AWS_XRAY_CENTRALIZED_SAMPLING = 'false';
    process.env.AWS_XRAY_TRACING_NAME = 'code-cache';
    const agent = require(path.join(root, 'register.js'));
    const { file, script } = globalThis[Symbol.for('@xray/agent.codeCache')];
    serveOneRequest(agent, () => {
      fs.writeFileSync(file, script.createCachedData());
      sink.close();
      process.exit(0);
    });
  });
}

/** One request (with a downstream call) through the instrumented http server and client. */
function serveOneRequest(agent, done) {
  const http = require('node:http');
  const server = http.createServer((req, res) => {
    if (req.url !== '/') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    }
    // A downstream call inside the request: the client path is cached too.
    http.get({ host: '127.0.0.1', port: server.address().port, path: '/downstream' }, (down) => {
      down.resume();
      down.on('end', () => res.end('ok'));
    });
  });
  server.listen(0, '127.0.0.1', () => {
    http.get({ host: '127.0.0.1', port: server.address().port, path: '/' }, (res) => {
      res.resume();
      res.on('end', () => {
        server.close();
        setTimeout(() => agent.flush().then(done, done), 20);
      });
    });
  });
}
