// The shape of an X-Ray document as it arrives over the wire (spec §1.2, §1.5–§1.11).
// Types only. It is deliberately loose: every object keeps an index signature because the
// receiving side (test daemon, listener, printer) must describe what was *sent*, including
// fields we do not know yet and mistakes we want tests to catch, not what the agent intends.
// `name`, `id` and `start_time` are typed as present because the spec makes them required on
// every entity; code that prints or assembles documents still checks them at run time.

export interface XrayStackFrame {
  path?: string;
  line?: number | null;
  label?: string;
  [key: string]: unknown;
}

export interface XrayException {
  id?: string;
  message?: string;
  type?: string;
  remote?: boolean;
  truncated?: number;
  skipped?: number;
  /** Id of the exception that caused this one (chain). */
  cause?: string;
  stack?: XrayStackFrame[];
  [key: string]: unknown;
}

export interface XrayCause {
  working_directory?: string;
  paths?: string[];
  exceptions?: XrayException[];
  [key: string]: unknown;
}

export interface XrayHttp {
  request?: {
    method?: string;
    url?: string;
    user_agent?: string;
    client_ip?: string;
    x_forwarded_for?: boolean;
    traced?: boolean;
    [key: string]: unknown;
  };
  response?: {
    status?: number;
    content_length?: number;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface XraySql {
  url?: string;
  connection_string?: string;
  sanitized_query?: string;
  database_type?: string;
  database_version?: string;
  driver_version?: string;
  user?: string;
  preparation?: string;
  [key: string]: unknown;
}

/** A segment or a subsegment (embedded or independent). */
export interface XrayEntity {
  name: string;
  id: string;
  start_time: number;
  trace_id?: string;
  end_time?: number;
  in_progress?: boolean;
  parent_id?: string;
  /** `"subsegment"` on independent (streamed) subsegments. */
  type?: string;
  /** `"aws"` or `"remote"`; absent for local work (spec §1.2.1). */
  namespace?: string;
  http?: XrayHttp;
  aws?: Record<string, unknown>;
  sql?: XraySql;
  annotations?: Record<string, string | number | boolean>;
  metadata?: Record<string, Record<string, unknown>>;
  error?: boolean;
  throttle?: boolean;
  fault?: boolean;
  /** Object form, or the 16-hex id of an exception recorded elsewhere in the trace. */
  cause?: XrayCause | string;
  subsegments?: XrayEntity[];
  precursor_ids?: string[];
  service?: Record<string, unknown>;
  user?: string;
  origin?: string;
  resource_arn?: string;
  traced?: boolean;
  links?: unknown[];
  [key: string]: unknown;
}

/** One top-level document: a segment, or an independent subsegment. */
export type XrayDocument = XrayEntity;
