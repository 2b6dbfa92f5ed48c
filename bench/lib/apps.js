'use strict';
// The bench apps and what each needs before it can start: the downstream app an upstream server
// in a process of its own (never running the agent, so its CPU is not charged to the app), the
// express app a copy of express from .test-versions (installed on demand, as the tests do).

const path = require('node:path');
const { spawnApp } = require('./children');
const { cleanEnv } = require('./agent-env');

const APPS_DIR = path.join(__dirname, '..', 'apps');

const APPS = {
  plain: { name: 'plain', script: path.join(APPS_DIR, 'plain.js') },
  downstream: { name: 'downstream', script: path.join(APPS_DIR, 'downstream.js') },
  // The newest express 5 under test.
  express: { name: 'express', script: path.join(APPS_DIR, 'express.js'), path: '/users/42' },
};

/**
 * Makes the named apps ready to start; returns their definitions (with the environment each needs)
 * and `stop()`, which stops the upstream server if one was started.
 * @param {string[]} names  keys of APPS
 */
async function prepareApps(names) {
  const apps = {};
  for (const name of names) apps[name] = { ...APPS[name] };
  if (apps.express) {
    const { installVersion, versionsUnderTest } = require('../../dist/test/helpers/versions.js');
    apps.express.env = { EXPRESS_NODE_MODULES: installVersion('express', versionsUnderTest('express').at(-1)) };
  }
  let upstream;
  if (apps.downstream) {
    upstream = await spawnApp({ label: 'upstream', script: path.join(APPS_DIR, 'upstream.js'), nodeArgs: [], env: cleanEnv(process.env) });
    apps.downstream.env = { UPSTREAM_PORT: String(upstream.port) };
  }
  return {
    apps,
    upstreamPort: upstream?.port,
    async stop() {
      const u = upstream;
      upstream = undefined;
      if (u) await u.stop().catch(() => {});
    },
  };
}

module.exports = { APPS, prepareApps };
