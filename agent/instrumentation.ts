// What an instrumentation is, and what it gets to work with. An instrumentation observes one
// library (by patching through agent/shim, or by subscribing to diagnostics_channel) and reports
// plain facts to the span builders; it never builds JSON, touches the socket or reads config.

import type { Recorder } from './recorder';
import type { HttpServerSpans } from './spans/http-server';
import type { HttpClientSpans } from './spans/http-client';
import type { WebFrameworkSpans } from './spans/web-framework';
import type { SqlSpans } from './spans/sql';
import type { AwsSpans } from './spans/aws';

export interface InstrumentationHost {
  readonly recorder: Recorder;
  readonly httpServer: HttpServerSpans;
  readonly httpClient: HttpClientSpans;
  readonly web: WebFrameworkSpans;
  readonly sql: SqlSpans;
  readonly aws: AwsSpans;
  /** True for an HTTP agent (connection pool) the agent itself uses, e.g. for sampling polls. */
  isAgentOwn(httpAgent: unknown): boolean;
}

/** A built-in module or runtime feature instrumented at start-up (node:http, global fetch). */
export interface BuiltinInstrumentation {
  /** Short name, as used in AWS_XRAY_DISABLED_INSTRUMENTATIONS. */
  readonly name: string;
  /** What is observed, for the debug log and the status table. */
  readonly target: string;
  install(host: InstrumentationHost): void;
  uninstall?(): void;
}
