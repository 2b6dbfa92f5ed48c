// The one HTTP helper of the resource plugins (instance metadata, ECS task metadata). Requests go
// through the agent's own http.Agent (never traced), have a hard deadline, read at most 64 KiB,
// and never keep the process alive: sockets and timers are unref'd, so a short script exits
// while an unreachable metadata endpoint is still being tried.

import type { Agent, OutgoingHttpHeaders } from 'node:http';
import { createOwnHttpAgent } from '../own-http';
import { setTimeout, clearTimeout } from '../timers';

const MAX_BODY = 64 * 1024;

export interface MetadataResponse {
  status: number;
  body: string;
}

export interface MetadataRequestOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  timeoutMs: number;
}

export type MetadataRequest = (url: string, opts: MetadataRequestOptions) => Promise<MetadataResponse>;

let ownAgent: Agent | undefined;

export const metadataRequest: MetadataRequest = (url, opts) =>
  new Promise<MetadataResponse>((resolve, reject) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const http = require('node:http') as typeof import('node:http');
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let req: import('node:http').ClientRequest | undefined;
    const finish = (err: Error | undefined, res?: MetadataResponse): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      if (err) {
        req?.destroy();
        reject(err);
      } else resolve(res!);
    };
    try {
      req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: (ownAgent ??= createOwnHttpAgent()) }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) finish(new Error(`answer from ${url} larger than ${MAX_BODY} bytes`));
          else chunks.push(c);
        });
        res.on('error', (err) => finish(err));
        res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('socket', (socket) => socket.unref());
      req.on('error', (err) => finish(err));
      timer = setTimeout(() => finish(new Error(`no answer from ${url} within ${opts.timeoutMs} ms`)), opts.timeoutMs);
      timer.unref();
      req.end();
    } catch (err) {
      finish(err as Error);
    }
  });

/** GET + JSON.parse of a 200 answer; throws on anything else. */
export async function getJson(request: MetadataRequest, url: string, opts: MetadataRequestOptions): Promise<Record<string, unknown>> {
  const res = await request(url, opts);
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  const doc: unknown = JSON.parse(res.body);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${url} did not answer a JSON object`);
  return doc as Record<string, unknown>;
}
