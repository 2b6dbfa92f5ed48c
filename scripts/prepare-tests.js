'use strict';
// Prepares what the tests need before any of them starts, so slow first-time installs never run
// into a test's time limit on a fresh machine:
//   - MariaDB and PostgreSQL (Debian packages, installed with apt-get when missing and running as
//     root; otherwise one line saying what to install);
//   - every library version under test (test/versions.json) in .test-versions/ — native drivers
//     compile from source there, which takes minutes. Installed versions are skipped.
// XRAY_TEST_VERSIONS=all also installs the lowest supported versions (npm run test:versions).
const { versionsFile, versionsUnderTest, installVersion } = require('../dist/test/helpers/versions.js');
const { ensureDatabaseServers } = require('../dist/test/helpers/databases.js');

const started = Date.now();
ensureDatabaseServers();
process.stdout.write('prepare tests: MariaDB and PostgreSQL installed\n');
for (const module of Object.keys(versionsFile().modules)) {
  for (const version of versionsUnderTest(module)) {
    const t0 = Date.now();
    installVersion(module, version);
    process.stdout.write(`prepare tests: ${module}@${version} ready (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
}
process.stdout.write(`prepare tests: all ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
