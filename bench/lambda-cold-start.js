'use strict';
// Lambda cold start: what the agent adds to the first invocation of a small function making one
// AWS SDK v3 call. The function (apps/lambda/index.js) runs in the stand-in Lambda runtime
// (test/fixtures/lambda/runner.mjs: the runtime's environment variables, handler resolution and
// calling convention), with NODE_OPTIONS="--require <agent>" as users set it in Lambda. Measured:
// wall clock from spawning `node` to the first invocation's result on the runner's stdout, i.e.
// node start + agent preload + init (loading the SDK, the handler wrapper) + the invocation
// (traced, Sampled=1: its subsegment is sent before the result goes back).
// Three variants, interleaved in rotating order after two unrecorded warm-up rounds:
//   none       no agent
//   agent      the agent, handler wrapped (the default)
//   no-wrap    the agent with AWS_XRAY_LAMBDA_FLUSH_TIMEOUT_MS=0 (handler not wrapped)
//   no-aws     the agent with the aws-sdk instrumentation disabled (the call is then traced as
//              plain HTTP): what the AWS SDK instrumentation adds to a cold start
// Usage: node bench/lambda-cold-start.js [runs]   (default 20 per variant)

const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { startUdpSink } = require('./lib/udp-sink');
const { cleanEnv, registerPath } = require('./lib/agent-env');
const { median, quantile } = require('./lib/stats');

const REPO = path.resolve(__dirname, '..');
const RUNNER = path.join(REPO, 'test', 'fixtures', 'lambda', 'runner.mjs');
const TASK_ROOT = path.join(__dirname, 'apps', 'lambda');
const WARMUP_ROUNDS = 2;
const VARIANTS = ['none', 'agent', 'no-wrap', 'no-aws'];

function startDynamoStub() {
  return new Promise((resolve) => {
    let calls = 0;
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        calls++;
        res.setHeader('content-type', 'application/x-amz-json-1.0');
        res.setHeader('x-amzn-requestid', `req-${calls}`);
        res.end(JSON.stringify({ Item: { id: { S: '42' }, total: { N: '99.5' } } }));
      });
    });
    server.keepAliveTimeout = 1000;
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${server.address().port}`, calls: () => calls, close: () => server.close() }));
  });
}

function randomHex(n) {
  let s = '';
  while (s.length < n) s += Math.random().toString(16).slice(2);
  return s.slice(0, n);
}

function envFor(variant, endpoint, daemonAddress) {
  const env = cleanEnv(process.env);
  for (const k of Object.keys(env)) if (k.startsWith('AWS_') || k.startsWith('_X_AMZN') || k === 'LAMBDA_TASK_ROOT') delete env[k];
  const root = `1-${Math.floor(Date.now() / 1000).toString(16)}-${randomHex(24)}`;
  Object.assign(env, {
    LAMBDA_TASK_ROOT: TASK_ROOT,
    _HANDLER: 'index.handler',
    AWS_LAMBDA_FUNCTION_NAME: 'cold-start-bench',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDBENCHEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'bench-secret',
    AWS_SESSION_TOKEN: 'bench-token',
    AWS_XRAY_DAEMON_ADDRESS: daemonAddress,
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
    DDB_ENDPOINT: endpoint,
    // The SDK warns on Node 20 (its support ends in 2027); same for every variant, kept off stderr.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    HARNESS_PLAN: JSON.stringify({ mode: 'sequential', invocations: [{ event: { id: 42 }, traceHeader: `Root=${root};Parent=${randomHex(16)};Sampled=1` }] }),
  });
  if (variant !== 'none') {
    const reg = registerPath();
    env.NODE_OPTIONS = `--require ${/[\s"\\]/.test(reg) ? JSON.stringify(reg) : reg}`;
  }
  if (variant === 'no-wrap') env.AWS_XRAY_LAMBDA_FLUSH_TIMEOUT_MS = '0';
  if (variant === 'no-aws') env.AWS_XRAY_DISABLED_INSTRUMENTATIONS = 'aws-sdk';
  return env;
}

/**
 * The node flags the Lambda Node.js runtime's bootstrap starts node with: heap sizes from the
 * function's memory (new space a tenth, half of it per semi-space, the rest old space), GC exposed,
 * large headers. They matter here: V8 accepts a code cache only from a process with the same V8
 * flags.
 */
let withRuntimeFlags = true;

function runtimeNodeFlags(env) {
  if (!withRuntimeFlags) return [];
  const memory = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  const newSpace = Math.floor(memory / 10);
  return ['--expose-gc', '--max-http-header-size', '81920', `--max-semi-space-size=${Math.floor(newSpace / 2)}`, `--max-old-space-size=${memory - newSpace}`];
}

/** Spawn → first invocation result line; also the runner's own init / invocation timestamps. */
function runOnce(variant, endpoint, daemonAddress) {
  return new Promise((resolve, reject) => {
    const env = envFor(variant, endpoint, daemonAddress);
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [...runtimeNodeFlags(env), RUNNER], { cwd: TASK_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let firstResultMs;
    child.stdout.setEncoding('utf8').on('data', (s) => {
      stdout += s;
      if (firstResultMs === undefined && /"invocation":0/.test(stdout)) firstResultMs = Number(process.hrtime.bigint() - t0) / 1e6;
    });
    child.stderr.setEncoding('utf8').on('data', (s) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const lines = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      const init = lines.find((l) => l.init)?.init;
      const inv = lines.find((l) => l.invocation === 0);
      if (code !== 0 || !init?.ok || !inv?.ok || firstResultMs === undefined) {
        reject(new Error(`${variant} run failed (exit ${code}): ${stdout.slice(0, 500)} ${stderr.slice(0, 1000)}`));
        return;
      }
      resolve({
        totalMs: firstResultMs,
        cpuMs: inv.cpuMs,
        runnerInitMs: init.atMs,
        runnerInvokeMs: inv.atMs - init.atMs,
        wrapped: init.handlerString !== 'index.handler',
        stderr,
      });
    });
  });
}

function summary(values) {
  const s = [...values].sort((a, b) => a - b);
  return { median: median(s), p25: quantile(s, 0.25), p75: quantile(s, 0.75), min: s[0] };
}

async function measureLambdaColdStart({ runs = 20 } = {}) {
  const sink = await startUdpSink();
  const ddb = await startDynamoStub();
  const samples = Object.fromEntries(VARIANTS.map((v) => [v, []]));
  try {
    for (let round = 0; round < WARMUP_ROUNDS + runs; round++) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]);
      for (const v of order) {
        const before = sink.snapshot().datagrams;
        const r = await runOnce(v, ddb.url, sink.address);
        await new Promise((res) => setTimeout(res, 20)); // let the sink read what is in the socket buffer
        r.documents = sink.snapshot().datagrams - before;
        if (v === 'agent' && !r.wrapped) throw new Error('the agent variant did not wrap the handler');
        if (v === 'agent' && r.stderr.trim()) throw new Error(`agent wrote to stderr: ${r.stderr.slice(0, 500)}`);
        if (round >= WARMUP_ROUNDS) samples[v].push(r);
      }
    }
  } finally {
    ddb.close();
    await sink.close();
  }
  const pick = (v, k) => samples[v].map((s) => s[k]);
  const result = { runs, ddbCalls: ddb.calls() };
  for (const v of VARIANTS) {
    result[v] = {
      total: summary(pick(v, 'totalMs')),
      cpu: summary(pick(v, 'cpuMs')),
      documents: pick(v, 'documents').reduce((a, b) => a + b, 0),
      init: summary(pick(v, 'runnerInitMs')),
      invoke: summary(pick(v, 'runnerInvokeMs')),
    };
  }
  const paired = (a, b, k) => median(samples[a].map((s, i) => s[k] - samples[b][i][k]));
  result.addedByAgent = paired('agent', 'none', 'totalMs');
  result.addedByWrapper = paired('agent', 'no-wrap', 'totalMs');
  result.cpuAddedByAgent = paired('agent', 'none', 'cpuMs');
  result.cpuAddedByWrapper = paired('agent', 'no-wrap', 'cpuMs');
  result.addedByAwsSdk = paired('agent', 'no-aws', 'totalMs');
  result.cpuAddedByAwsSdk = paired('agent', 'no-aws', 'cpuMs');
  return result;
}

module.exports = { measureLambdaColdStart };

if (require.main === module) {
  // node bench/lambda-cold-start.js [runs] [--plain-node]: --plain-node starts node without the
  // runtime's flags (then the agent's code cache applies; see bench/README.md).
  withRuntimeFlags = !process.argv.includes('--plain-node');
  const runs = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a))) || 20;
  measureLambdaColdStart({ runs }).then(
    (r) => {
      const f = (x) => x.toFixed(1);
      console.log(
        `Lambda cold start to the first result, ${runs} runs per variant (median [p25–p75]), ` +
          `${withRuntimeFlags ? "node started with the Lambda runtime's flags" : 'node started without flags'}:`,
      );
      for (const v of VARIANTS) {
        const t = r[v].total;
        const c = r[v].cpu;
        console.log(
          `  ${v.padEnd(8)} wall ${f(t.median)} ms [${f(t.p25)}–${f(t.p75)}]  cpu ${f(c.median)} ms [${f(c.p25)}–${f(c.p75)}]` +
            `  (runner init ${f(r[v].init.median)} ms, invocation ${f(r[v].invoke.median)} ms)`,
        );
      }
      console.log(`  added by the agent (paired medians): wall +${f(r.addedByAgent)} ms, cpu +${f(r.cpuAddedByAgent)} ms`);
      console.log(`  of which the handler wrapper:        wall +${f(r.addedByWrapper)} ms, cpu +${f(r.cpuAddedByWrapper)} ms`);
      console.log(`  of which the aws-sdk instrumentation: wall +${f(r.addedByAwsSdk)} ms, cpu +${f(r.cpuAddedByAwsSdk)} ms`);
      console.log(`  documents received (measured runs): ${VARIANTS.map((v) => `${v} ${r[v].documents}`).join(', ')}; DynamoDB calls answered: ${r.ddbCalls}`);
    },
    (err) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
