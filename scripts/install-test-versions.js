'use strict';
// Installs every library version the tests will use (test/versions.json) into .test-versions/
// before the tests start, so slow installs (native drivers compiled from source take minutes on
// a fresh machine) never run into a test's timeout. Already installed versions are skipped.
// XRAY_TEST_VERSIONS=all also installs the lowest supported versions (npm run test:versions).
const { versionsFile, versionsUnderTest, installVersion } = require('../dist/test/helpers/versions.js');

const started = Date.now();
for (const module of Object.keys(versionsFile().modules)) {
  for (const version of versionsUnderTest(module)) {
    const t0 = Date.now();
    installVersion(module, version);
    const s = ((Date.now() - t0) / 1000).toFixed(1);
    process.stdout.write(`test versions: ${module}@${version} ready (${s} s)\n`);
  }
}
process.stdout.write(`test versions: all ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
