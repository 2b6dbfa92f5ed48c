'use strict';
// Environment and node flags for a child process with or without the agent. The baseline must be
// really agent-free, so anything that could preload the agent (NODE_OPTIONS) or configure it
// (AWS_XRAY_*) is removed from the inherited environment first (and NODE_EXTRA_CA_CERTS, below);
// the agent run then gets exactly the settings below: 100 % sampling, documents to the bench's UDP
// sink, no daemon polling.

const path = require('node:path');
const { pathToFileURL } = require('node:url');

const REPO = path.resolve(__dirname, '..', '..');
const REGISTER = path.join(REPO, 'register.js');
// The preload file measured; --agent=<file> / BENCH_AGENT point it at another build (a snapshot
// of dist/ taken while others rebuild the tree, or an older version to compare with).
let register = REGISTER;

function setRegister(file) {
  register = path.resolve(file);
}

function registerPath() {
  return register;
}

// fixed_target 0 + rate 1: every request is sampled (no reservoir, no 5 % default).
const SAMPLE_ALL = '{"version":2,"default":{"fixed_target":0,"rate":1}}';

// NODE_EXTRA_CA_CERTS makes every node process parse that certificate bundle as it starts (seen
// with callgrind on a sandbox that sets it machine-wide: ~400M instructions, four fifths of
// `node -e 0`). It is the same work with and without the agent, so for the start-up comparison it
// is only noise, larger than the difference measured; the children start without it.
const NOT_INHERITED = new Set(['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS']);

function cleanEnv(base) {
  const env = {};
  for (const [k, v] of Object.entries(base)) {
    if (NOT_INHERITED.has(k) || k.startsWith('AWS_XRAY_')) continue;
    env[k] = v;
  }
  return env;
}

/**
 * @param {boolean} agent
 * @param {string} daemonAddress  127.0.0.1:<port> of the UDP sink
 * @param {string} serviceName
 * @param {Record<string,string>} [extra]  app-specific variables (UPSTREAM_PORT)
 */
function childEnv(agent, daemonAddress, serviceName, extra) {
  const env = cleanEnv(process.env);
  if (agent) {
    env.AWS_XRAY_SAMPLING_RULES = SAMPLE_ALL;
    env.AWS_XRAY_DAEMON_ADDRESS = daemonAddress;
    env.AWS_XRAY_TRACING_NAME = serviceName;
    // Local rules only: the sink does not answer the daemon's sampling API, and a bench must not
    // depend on a poller's timing.
    env.AWS_XRAY_CENTRALIZED_SAMPLING = 'false';
  }
  return Object.assign(env, extra || {});
}

/** node flags that load the agent the way users do. */
function agentFlags(agent) {
  return agent ? ['--require', register] : [];
}

/**
 * node flags that load the agent into an ES module app the way users do: `--import @xray/agent`
 * resolves to register.mjs (package.json "exports"), next to register.js.
 */
function esmAgentFlags(agent) {
  return agent ? ['--import', pathToFileURL(register.replace(/\.js$/, '.mjs')).href] : [];
}

/**
 * What spawnApp needs to start a bench app with or without the agent.
 * @param {{name: string, script: string, env?: Record<string,string>}} app
 * @param {boolean} agent
 * @param {{address: string}} sink
 * @param {{labelSuffix?: string, nodeArgs?: string[]}} [extra]  e.g. ' (profiled)' and --cpu-prof flags
 */
function appSpawnOptions(app, agent, sink, { labelSuffix = '', nodeArgs = [] } = {}) {
  return {
    label: `${app.name}${agent ? '+agent' : ''}${labelSuffix}`,
    script: app.script,
    nodeArgs: [...agentFlags(agent), ...nodeArgs],
    env: childEnv(agent, sink.address, `bench-${app.name}`, app.env),
  };
}

module.exports = { REPO, REGISTER, SAMPLE_ALL, childEnv, agentFlags, esmAgentFlags, appSpawnOptions, cleanEnv, setRegister, registerPath };
