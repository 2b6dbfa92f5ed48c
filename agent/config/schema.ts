// The one declarative list of every configuration key (DESIGN §5). Parsing, validation, the
// README table and `xray-agent doctor` are all driven from SCHEMA, so adding a key here is the
// only way to add a key. This file holds data only; the loader (./load) interprets it.
//
// Kept import-light on purpose: it is loaded on every start, before anything else. fs and path
// are already loaded by Node's own module loader; named imports (not `import * as`) avoid the
// __importStar helper copying ~100 fs exports, which measurably costs at preload.

import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LOG_LEVELS } from '../log';

/** Env var naming the optional JSON config file. It has no JSON key (a file cannot name itself). */
export const CONFIG_FILE_ENV = 'AWS_XRAY_AGENT_CONFIG';

export type ConfigType = 'boolean' | 'integer' | 'string' | 'enum' | 'list' | 'daemonAddress' | 'rules' | 'whitelist';

export const CONTEXT_MISSING_VALUES = ['LOG_ERROR', 'RUNTIME_ERROR', 'IGNORE_ERROR'] as const;
export type ContextMissing = (typeof CONTEXT_MISSING_VALUES)[number];

/** Sampling rules as configured: a file path, or the already-parsed rules document. */
export type SamplingRulesSource = string | Record<string, unknown>;

/** The AWS call whitelist as configured: a file path, or the already-parsed whitelist document. */
export type AwsWhitelistSource = string | Record<string, unknown>;

export type ConfigValue = boolean | number | string | readonly string[] | SamplingRulesSource | undefined;

/** What a computed default may look at. `cwd` is passed in so tests need no process.chdir. */
export interface DefaultContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface SchemaEntry {
  /** JSON key in the config file (camelCase). */
  key: string;
  /** Environment variable, or undefined for file-only keys. */
  env: string | undefined;
  type: ConfigType;
  /** A value, or a function for defaults that depend on the environment (called only when needed). */
  default: ConfigValue | ((ctx: DefaultContext) => ConfigValue);
  /** How the default reads in the README when it is computed or not a plain literal. */
  defaultDoc?: string;
  /** 'enum' only: allowed values, matched case-insensitively and stored as written here. */
  enum?: readonly string[];
  /** 'integer' only: inclusive bounds. */
  min?: number;
  max?: number;
  /**
   * A second env var that, when it yields a value, beats both the file and `env`
   * (AWS_XRAY_DEBUG_MODE forcing logLevel=debug). `value` gets the raw, non-empty env string.
   */
  override?: { env: string; value: (raw: string) => ConfigValue };
  /** One line for the README table. */
  doc: string;
}

/** Lambda is detected from variables the runtime always sets (spec §5.1, §6.5). */
export function isLambda(env: NodeJS.ProcessEnv): boolean {
  return !!env['LAMBDA_TASK_ROOT'] || !!env['AWS_LAMBDA_FUNCTION_NAME'];
}

const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

/**
 * NODE SDK semantics are "any non-empty value turns debug on" (even "false"); we keep that but
 * let an explicit false word mean off, which is what anyone writing DEBUG_MODE=false expects.
 */
function debugModeOverride(raw: string): ConfigValue {
  return FALSE_WORDS.has(raw.trim().toLowerCase()) ? undefined : 'debug';
}

export const SCHEMA = [
  {
    key: 'enabled',
    env: 'AWS_XRAY_SDK_ENABLED',
    type: 'boolean',
    default: true,
    doc: '`false` turns the agent off entirely (nothing is patched)',
  },
  {
    key: 'serviceName',
    env: 'AWS_XRAY_TRACING_NAME',
    type: 'string',
    // Lazy: the package.json walk only runs when neither env nor file names the service.
    default: (ctx: DefaultContext) => defaultServiceName(ctx.cwd),
    defaultDoc: "`name` in the nearest package.json above the cwd, else the cwd's basename",
    doc: 'segment name for incoming requests',
  },
  {
    key: 'daemonAddress',
    env: 'AWS_XRAY_DAEMON_ADDRESS',
    type: 'daemonAddress',
    default: '127.0.0.1:2000',
    doc: '`host:port`, `[ipv6]:port`, or `udp:h:p tcp:h:p` (either order; a missing one uses the default)',
  },
  {
    key: 'contextMissing',
    env: 'AWS_XRAY_CONTEXT_MISSING',
    type: 'enum',
    enum: CONTEXT_MISSING_VALUES,
    default: 'IGNORE_ERROR',
    doc: 'subsegment outside any segment: `LOG_ERROR`, `RUNTIME_ERROR` (manual API only), `IGNORE_ERROR`',
  },
  {
    key: 'logLevel',
    env: 'AWS_XRAY_LOG_LEVEL',
    type: 'enum',
    enum: LOG_LEVELS,
    default: 'warn',
    override: { env: 'AWS_XRAY_DEBUG_MODE', value: debugModeOverride },
    doc: '`silent`, `error`, `warn`, `info`, `debug` (stderr); `AWS_XRAY_DEBUG_MODE` set and not false forces `debug`',
  },
  {
    key: 'samplingRules',
    env: 'AWS_XRAY_SAMPLING_RULES',
    type: 'rules',
    default: undefined,
    defaultDoc: 'built-in (1/s + 5 %)',
    doc: 'local sampling rules: path of a JSON rules file, or inline JSON (`{...}`); in the file also an object',
  },
  {
    key: 'centralizedSampling',
    env: 'AWS_XRAY_CENTRALIZED_SAMPLING',
    type: 'boolean',
    default: (ctx: DefaultContext) => !isLambda(ctx.env),
    defaultDoc: '`true` (`false` in Lambda)',
    doc: 'poll sampling rules from the daemon; local rules are the fallback',
  },
  // The three sampling timings below exist for tests (short polls, quick expiry); production
  // keeps the spec's values (spec §4.4).
  {
    key: 'samplingRulesPollMs',
    env: 'AWS_XRAY_SAMPLING_RULES_POLL_MS',
    type: 'integer',
    min: 100,
    max: 86400000,
    default: 300000,
    doc: 'for testing: interval between centralized rule fetches (plus up to 5 s jitter)',
  },
  {
    key: 'samplingTargetsPollMs',
    env: 'AWS_XRAY_SAMPLING_TARGETS_POLL_MS',
    type: 'integer',
    min: 100,
    max: 86400000,
    default: 10000,
    doc: 'for testing: interval between sampling statistics reports / target fetches (plus up to 100 ms jitter)',
  },
  {
    key: 'samplingRulesTtlMs',
    env: 'AWS_XRAY_SAMPLING_RULES_TTL_MS',
    type: 'integer',
    min: 100,
    max: 86400000,
    default: 3600000,
    doc: 'for testing: centralized rules are used this long after the last successful fetch, then local rules',
  },
  {
    key: 'plugins',
    env: 'AWS_XRAY_PLUGINS',
    type: 'string',
    default: 'auto',
    doc: '`EC2,ECS,ElasticBeanstalk,EKS`, `auto` (local detection of ECS, EKS, Beanstalk; add EC2 by name: `auto,EC2`) or `none`; not in Lambda',
  },
  {
    key: 'elasticBeanstalkConfigFile',
    env: 'AWS_XRAY_ELASTIC_BEANSTALK_CONFIG_FILE',
    type: 'string',
    default: '/var/elasticbeanstalk/xray/environment.conf',
    doc: 'Elastic Beanstalk plugin: the environment file (JSON) that Beanstalk writes on its instances',
  },
  {
    key: 'eksServiceAccountDir',
    env: 'AWS_XRAY_EKS_SERVICE_ACCOUNT_DIR',
    type: 'string',
    default: '/var/run/secrets/kubernetes.io/serviceaccount',
    doc: 'EKS plugin: the pod\'s service-account folder; its `token` file is how `auto` detects Kubernetes',
  },
  {
    key: 'eksClusterName',
    env: 'AWS_XRAY_EKS_CLUSTER_NAME',
    type: 'string',
    default: undefined,
    defaultDoc: 'none',
    doc: 'EKS plugin: `aws.eks.cluster_name` (e.g. from the Helm values or the downward API); left out when unset',
  },
  {
    key: 'disabledInstrumentations',
    env: 'AWS_XRAY_DISABLED_INSTRUMENTATIONS',
    type: 'list',
    default: [],
    doc: 'instrumentations not to load, by short name: `http,fetch,pg,…`',
  },
  {
    key: 'collectSqlQueries',
    env: 'AWS_XRAY_COLLECT_SQL_QUERIES',
    type: 'boolean',
    default: false,
    doc: 'record `sql.sanitized_query` (the SQL text as sent)',
  },
  {
    key: 'captureQueryString',
    env: 'AWS_XRAY_CAPTURE_QUERY_STRING',
    type: 'boolean',
    default: false,
    doc: 'keep `?query` in recorded URLs (stripped by default for privacy)',
  },
  {
    key: 'streamingThreshold',
    env: 'AWS_XRAY_STREAMING_THRESHOLD',
    type: 'integer',
    min: 0,
    default: (ctx: DefaultContext) => (isLambda(ctx.env) ? 0 : 100),
    defaultDoc: '`100` (`0` in Lambda)',
    doc: 'closed subsegments held before they are streamed as separate documents (spec §6)',
  },
  {
    key: 'maxStackFrames',
    env: 'AWS_XRAY_MAX_TRACE_BACK',
    type: 'integer',
    min: 0,
    max: 200,
    default: 10,
    doc: 'stack frames recorded per exception',
  },
  {
    key: 'maxDatagramBytes',
    env: 'AWS_XRAY_MAX_DATAGRAM_BYTES',
    type: 'integer',
    min: 1024,
    max: 65507,
    default: 64512,
    doc: 'byte budget of one UDP document (header included); larger ones are split or truncated',
  },
  {
    key: 'segmentFlushTimeoutMs',
    env: 'AWS_XRAY_SEGMENT_FLUSH_TIMEOUT_MS',
    type: 'integer',
    min: 0,
    max: 3600000,
    default: 30000,
    doc: 'a closed segment with open children is sent after this long, children `in_progress`',
  },
  {
    key: 'lambdaFlushTimeoutMs',
    env: 'AWS_XRAY_LAMBDA_FLUSH_TIMEOUT_MS',
    type: 'integer',
    min: 0,
    max: 10000,
    default: 50,
    doc: 'Lambda: longest wait for pending sends before a result goes back to the runtime; `0` leaves the handler unwrapped',
  },
  {
    key: 'responseTraceHeader',
    env: 'AWS_XRAY_RESPONSE_TRACE_HEADER',
    type: 'boolean',
    default: true,
    doc: 'add `X-Amzn-Trace-Id` to HTTP responses (spec §3.5)',
  },
  {
    key: 'downstreamTraced',
    env: 'AWS_XRAY_DOWNSTREAM_TRACED',
    type: 'boolean',
    default: false,
    doc: 'set `http.request.traced` on outgoing HTTP subsegments (callee is known to be traced)',
  },
  {
    key: 'routeAnnotation',
    env: 'AWS_XRAY_ROUTE_ANNOTATION',
    type: 'boolean',
    default: true,
    doc: 'web frameworks: record the matched route template (e.g. `/users/:id`) as the annotation `http_route`',
  },
  {
    key: 'middlewareSubsegments',
    env: 'AWS_XRAY_MIDDLEWARE_SUBSEGMENTS',
    type: 'boolean',
    default: false,
    doc: 'koa: one subsegment per middleware / handler call (verbose; off by default). The other frameworks record the request and its route, not each middleware',
  },
  {
    key: 'maxQueuedSends',
    env: 'AWS_XRAY_MAX_QUEUED_SENDS',
    type: 'integer',
    min: 1,
    max: 100000,
    default: 1000,
    doc: 'UDP datagrams in flight before new ones are dropped (and counted)',
  },
  {
    key: 'sendBatchMs',
    env: 'AWS_XRAY_SEND_BATCH_MS',
    type: 'integer',
    min: 0,
    max: 1000,
    default: 5,
    doc: 'datagrams go to the daemon in bursts: the first waits at most this long for others (a burst costs the kernel far less), and segments are serialized at the end of each event-loop turn; `0` sends each at once. Always `0` in Lambda',
  },
  {
    key: 'maxOpenSegments',
    env: 'AWS_XRAY_MAX_OPEN_SEGMENTS',
    type: 'integer',
    min: 1,
    max: 1000000,
    default: 10000,
    doc: 'open segments tracked at once; beyond this new traces are not recorded (and counted). Also the most finished segments that wait for open subsegments: beyond it the oldest is sent at once, those subsegments in progress',
  },
  {
    key: 'awsWhitelist',
    env: 'AWS_XRAY_AWS_WHITELIST',
    type: 'whitelist',
    default: undefined,
    defaultDoc: 'built-in (spec §8.3 services)',
    doc: 'AWS SDK calls: parameters recorded per service and operation; path of a JSON whitelist file, or inline JSON (`{"services":…}`), replacing the built-in one',
  },
  {
    key: 'maxSubsegmentsPerSegment',
    env: 'AWS_XRAY_MAX_SUBSEGMENTS',
    type: 'integer',
    min: 1,
    max: 100000,
    default: 5000,
    doc: 'subsegments recorded per segment; further ones are dropped (and counted)',
  },
] as const satisfies readonly SchemaEntry[];

export type SchemaKey = (typeof SCHEMA)[number]['key'];

// ---- serviceName default -------------------------------------------------------------------

/**
 * `name` of the first package.json (walking up from `cwd` to the filesystem root) that has a
 * non-empty string name; else the basename of `cwd`; else "unknown". A package.json without a
 * name (e.g. a nested `{"type":"module"}`) or one that does not parse is skipped, not fatal.
 */
export function defaultServiceName(cwd: string): string {
  let dir = cwd;
  for (;;) {
    try {
      const pkg: unknown = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      const name = (pkg as { name?: unknown } | null)?.name;
      if (typeof name === 'string' && name.trim() !== '') return name.trim();
    } catch {
      // Missing, unreadable or not JSON: keep walking.
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return basename(cwd) || 'unknown';
}
