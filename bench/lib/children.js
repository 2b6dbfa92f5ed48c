'use strict';
// Spawns the bench apps as child processes (with an IPC pipe for the probe, see apps/probe.js) and
// guarantees they all die: a graceful 'stop' first, SIGKILL after a timeout, and a synchronous
// SIGKILL of anything still alive when the bench process exits for any reason.

const { spawn } = require('node:child_process');

const live = new Set();
let exitHookInstalled = false;

function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAllNow);
}

/** Last resort, synchronous: used from process 'exit' and signal handlers. */
function killAllNow() {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  live.clear();
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * @param {object} o
 * @param {string} o.label      prefix for the child's stderr lines
 * @param {string} o.script     absolute path of the app
 * @param {string[]} o.nodeArgs node flags (--require …, --cpu-prof …)
 * @param {object} o.env
 * @param {number} [o.readyTimeoutMs]
 * @param {string[]} [o.launcher]  a program that runs node (valgrind and its flags), or none
 */
async function spawnApp({ label, script, nodeArgs, env, readyTimeoutMs = 20000, launcher = [] }) {
  installExitHook();
  const argv = [...launcher, process.execPath, ...nodeArgs, script];
  const child = spawn(argv[0], argv.slice(1), {
    env,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  live.add(child);
  let stderrTail = '';
  let stderrHead = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderrTail = (stderrTail + chunk).slice(-4000);
    if (stderrHead.length < 2000) stderrHead = (stderrHead + chunk).slice(0, 2000);
    for (const line of chunk.split('\n')) if (line.trim()) process.stderr.write(`[${label}] ${line}\n`);
  });
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  child.on('error', () => {}); // reported through 'exit' / the ready timeout

  const pending = new Map();
  let nextId = 1;
  child.on('message', (msg) => {
    if (msg && msg.type === 'cpu' && pending.has(msg.id)) {
      pending.get(msg.id)(msg);
      pending.delete(msg.id);
    }
  });

  const ready = new Promise((resolve, reject) => {
    child.on('message', (msg) => {
      if (msg && msg.type === 'ready') resolve(msg.port);
    });
    exited.then(({ code, signal }) =>
      reject(new Error(`${label} exited before it was ready (code ${code}, signal ${signal})\n${stderrTail}`)),
    );
  });
  let port;
  try {
    port = await withTimeout(ready, readyTimeoutMs, `${label} start`);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }

  return {
    pid: child.pid,
    port,
    label,
    /** The first ~2000 characters the child wrote to stderr (agent warnings end up here). */
    stderr: () => stderrHead,
    /** The last ~4000 characters the child wrote to stderr (a launcher's closing summary). */
    stderrTail: () => stderrTail,
    /** process.cpuUsage() and RSS as the child itself sees them (µs resolution). */
    probe() {
      const id = nextId++;
      const answer = new Promise((resolve) => pending.set(id, resolve));
      child.send({ type: 'cpu', id });
      return withTimeout(answer, 10000, `${label} cpu probe`).finally(() => pending.delete(id));
    },
    /** Graceful stop, then SIGKILL. Resolves once the process is gone. */
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      try {
        child.send({ type: 'stop' });
      } catch {
        /* pipe already closed */
      }
      try {
        return await withTimeout(exited, graceMs, `${label} stop`);
      } catch {
        child.kill('SIGKILL');
        return withTimeout(exited, 5000, `${label} kill`).catch(() => ({ code: null, signal: 'SIGKILL' }));
      }
    },
  };
}

/** Stops every child still alive (used in the bench's finally block). */
async function stopAll() {
  const children = [...live];
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => {
            try {
              child.kill('SIGKILL');
            } catch {
              /* gone */
            }
            resolve();
          }, 3000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          try {
            child.kill('SIGTERM');
          } catch {
            clearTimeout(timer);
            resolve();
          }
        }),
    ),
  );
  killAllNow();
}

module.exports = { spawnApp, stopAll, killAllNow, liveCount: () => live.size };
