// The TCP half of the daemon for `xray-agent listen`: answers the two sampling requests agents
// send to the daemon's proxy (spec §2.3) with one rule that samples every request. Without it, an
// app pointed at the listener logs that the proxy is unreachable and samples 1/s + 5 %; with it,
// every request you make while developing shows up.

import * as http from 'node:http';

const MAX_BODY = 1024 * 1024;

const RULES = JSON.stringify({
  SamplingRuleRecords: [
    {
      SamplingRule: {
        RuleName: 'Default',
        RuleARN: 'arn:aws:xray:local:000000000000:sampling-rule/Default',
        ResourceARN: '*',
        Priority: 10000,
        FixedRate: 1,
        ReservoirSize: 0,
        ServiceName: '*',
        ServiceType: '*',
        Host: '*',
        HTTPMethod: '*',
        URLPath: '*',
        Version: 1,
        Attributes: {},
      },
      CreatedAt: 0,
      ModifiedAt: 0,
    },
  ],
});

export interface SamplingStub {
  port: number;
  close(): Promise<void>;
}

/** Starts the stub on host:port (TCP); resolves undefined when the port cannot be had. */
export async function startSamplingStub(host: string, port: number): Promise<SamplingStub | undefined> {
  const server = http.createServer((req, res) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST' && req.url === '/GetSamplingRules') return void res.end(RULES);
      if (req.method === 'POST' && req.url === '/SamplingTargets') return void res.end(targets(Buffer.concat(chunks).toString('utf8')));
      res.statusCode = 404;
      res.end('{"message":"xray-agent listen answers /GetSamplingRules and /SamplingTargets only"}');
    });
  });
  server.keepAliveTimeout = 1000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch {
    return undefined;
  }
  server.unref();
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Every rule the agent reports on keeps FixedRate 1; no reservoir is needed. */
function targets(body: string): string {
  let names: string[] = [];
  try {
    const docs = (JSON.parse(body) as { SamplingStatisticsDocuments?: Array<{ RuleName?: unknown }> }).SamplingStatisticsDocuments;
    if (Array.isArray(docs)) names = docs.map((d) => d.RuleName).filter((n): n is string => typeof n === 'string');
  } catch {
    // a malformed report still gets a well-formed answer
  }
  return JSON.stringify({
    SamplingTargetDocuments: names.map((RuleName) => ({ RuleName, FixedRate: 1, Interval: 10 })),
    LastRuleModification: 0,
    UnprocessedStatistics: [],
  });
}
