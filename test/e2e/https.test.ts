// node:https end to end: an ESM service that imports only node:https is patched when its first
// request arrives (nothing loads node:http through require), and its incoming requests and its
// https client calls are traced like plain HTTP ones: segment URL with https, response trace
// header, a remote subsegment whose id the callee receives as Parent.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as https from 'node:https';
import { startUdpDaemon, findSubsegments, type UdpDaemon, type XrayDocument } from '../helpers/udp-daemon';
import { spawnApp, type Loader } from '../helpers/spawn-app';

const ALWAYS = JSON.stringify({ version: 2, default: { fixed_target: 0, rate: 1 } });

let daemon: UdpDaemon;
before(async () => {
  daemon = await startUdpDaemon();
});
after(async () => {
  await daemon.close();
});

function get(port: number, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

for (const loader of ['import', 'require'] as Loader[]) {
  test(`https server and client (--${loader}): segments, trace header, parentage`, async () => {
    const name = `tls-${loader}`;
    const app = await spawnApp({
      script: 'https-app.mjs',
      loader,
      env: { AWS_XRAY_DAEMON_ADDRESS: daemon.address, AWS_XRAY_SAMPLING_RULES: ALWAYS, AWS_XRAY_CENTRALIZED_SAMPLING: 'false', AWS_XRAY_TRACING_NAME: name },
    });
    try {
      const res = await get(app.port, '/');
      assert.equal(res.status, 200);
      assert.equal(res.body, 'ok');
      assert.match(String(res.headers['x-amzn-trace-id']), /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
      const mine = (docs: readonly XrayDocument[]) => docs.filter((d) => d.name === name);
      const docs = mine(await daemon.waitFor((all) => mine(all).length >= 2));
      const outer = docs.find((d) => d.http?.request?.url === `https://127.0.0.1:${app.port}/`);
      const leaf = docs.find((d) => d.http?.request?.url === `https://127.0.0.1:${app.port}/leaf`);
      assert.ok(outer && leaf, JSON.stringify(docs));
      assert.equal(outer.http?.response?.status, 200);
      const [call] = findSubsegments(outer, (s) => s.namespace === 'remote');
      assert.ok(call, 'the https call is a remote subsegment');
      assert.equal(call.name, '127.0.0.1');
      assert.equal(call.http?.request?.url, `https://127.0.0.1:${app.port}/leaf`);
      assert.equal(call.http?.response?.status, 200);
      assert.equal(leaf.trace_id, outer.trace_id, 'the header crossed TLS');
      assert.equal(leaf.parent_id, call.id);
    } finally {
      await app.stop();
    }
    assert.equal(app.stderr, '');
  });
}
