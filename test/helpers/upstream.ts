// A local upstream HTTP service for e2e tests: records the X-Amzn-Trace-Id header of every request
// it receives, answers `/status?code=N` with that status, `/redirect?to=/p` with a 302 to `/p`, and
// everything else with 200 and the path.

import * as http from 'node:http';

export interface UpstreamRequest {
  path: string;
  traceHeader: string | undefined;
}

export interface Upstream {
  url: string;
  port: number;
  requests: UpstreamRequest[];
  close(): Promise<void>;
}

export async function startUpstream(): Promise<Upstream> {
  const requests: UpstreamRequest[] = [];
  const server = http.createServer((req, res) => {
    const header = req.headers['x-amzn-trace-id'];
    requests.push({ path: req.url ?? '', traceHeader: Array.isArray(header) ? header[0] : header });
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/status') {
      res.statusCode = Number(url.searchParams.get('code'));
      res.end('upstream status');
      return;
    }
    if (url.pathname === '/redirect') {
      res.statusCode = 302;
      res.setHeader('location', url.searchParams.get('to') ?? '/');
      res.end();
      return;
    }
    res.setHeader('content-type', 'text/plain');
    res.end(`upstream ${url.pathname}`);
  });
  server.keepAliveTimeout = 500;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Parses `Root=…;Parent=…;Sampled=…;K=V` into a plain record (test-side, deliberately naive). */
export function headerFields(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (value ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}
