// Fastify 5 publishes the TracingChannel `fastify.request.handler` around each route handler
// (lib/handle-request.js): `start` carries { request, reply, route: { url, method } }, where
// `route.url` is the full template, plugin prefixes included. It is published only for matched
// routes (never for the not-found handler), synchronously inside the request's async context, so
// the active entity is the request's segment (or a subsegment inside it).
//
// Fastify checks TracingChannel#hasSubscribers before publishing; Node added that getter in 20.13,
// so on older Node 20 minors fastify 5 never publishes and the handleRequest patch is used instead.

import diagnostics from 'node:diagnostics_channel';
import type { InstrumentationHost } from '../../agent/instrumentation';
import { log } from '../../agent/log';

const CHANNEL = 'fastify.request.handler';

let host: InstrumentationHost | undefined;
let subscribed = false;

/** True when this Node lets fastify see our subscription (TracingChannel#hasSubscribers exists). */
export function handlerChannelUsable(): boolean {
  return typeof diagnostics.tracingChannel(CHANNEL).hasSubscribers === 'boolean';
}

/** Subscribes once per process; every fastify 5 copy publishes on the same named channel. */
export function subscribeHandlerChannel(h: InstrumentationHost): void {
  host = h;
  if (subscribed) return;
  diagnostics.channel(`tracing:${CHANNEL}:start`).subscribe(onStart);
  subscribed = true;
}

function onStart(message: unknown): void {
  if (host === undefined) return;
  try {
    const url = (message as { route?: { url?: unknown } } | null)?.route?.url;
    if (typeof url === 'string') host.web.route(url);
  } catch (err) {
    log.once('fastify.channel', 'error', 'fastify instrumentation failed on a request; its route is not recorded', { error: String(err) });
  }
}
