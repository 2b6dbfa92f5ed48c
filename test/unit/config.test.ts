// Configuration: schema, loader precedence, validation warnings, file errors, computed defaults,
// the README table, and "never throws".

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
// The real module object (not an import-star copy), so a test can wrap one of its functions.
import fsModule = require('node:fs');
import { configTableMarkdown, loadConfig, type AgentConfig, type LoadedConfig } from '../../agent/config/load';
import { CONFIG_FILE_ENV, SCHEMA, defaultServiceName, isLambda, type SchemaEntry } from '../../agent/config/schema';

// ---- fixtures ------------------------------------------------------------------------------

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-config-test-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

let dirCounter = 0;
/**
 * A fresh directory holding a package.json named `test-app` (so no test walks up into the
 * repo); `pkg` replaces its content; null = no package.json.
 */
function appDir(pkg: unknown = { name: 'test-app' }): string {
  const dir = path.join(tmpRoot, `app-${++dirCounter}`);
  fs.mkdirSync(dir, { recursive: true });
  if (pkg !== null) fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg));
  return dir;
}

const APP = appDir();

/** Writes a config file into a fresh app dir; returns the env pointing at it and the dir. */
function withFile(content: unknown, raw = false): { env: NodeJS.ProcessEnv; dir: string; file: string } {
  const dir = appDir();
  const file = path.join(dir, 'xray.json');
  fs.writeFileSync(file, raw ? String(content) : JSON.stringify(content));
  return { env: { [CONFIG_FILE_ENV]: file }, dir, file };
}

function ok(env: NodeJS.ProcessEnv, cwd = APP): LoadedConfig {
  const r = loadConfig(env, cwd);
  assert.ok(!('error' in r), `unexpected error: ${'error' in r ? r.error : ''}`);
  return r;
}

function loadErr(env: NodeJS.ProcessEnv, cwd = APP): string {
  const r = loadConfig(env, cwd);
  assert.ok('error' in r, 'expected an error');
  return r.error;
}

const DEFAULTS: Omit<AgentConfig, 'serviceName'> = {
  enabled: true,
  daemonAddress: '127.0.0.1:2000',
  daemon: { udp: { host: '127.0.0.1', port: 2000 }, tcp: { host: '127.0.0.1', port: 2000 } },
  contextMissing: 'IGNORE_ERROR',
  logLevel: 'warn',
  samplingRules: undefined,
  centralizedSampling: true,
  samplingRulesPollMs: 300000,
  samplingTargetsPollMs: 10000,
  samplingRulesTtlMs: 3600000,
  plugins: 'auto',
  elasticBeanstalkConfigFile: '/var/elasticbeanstalk/xray/environment.conf',
  eksServiceAccountDir: '/var/run/secrets/kubernetes.io/serviceaccount',
  eksClusterName: undefined,
  disabledInstrumentations: [],
  collectSqlQueries: false,
  captureQueryString: false,
  streamingThreshold: 100,
  maxStackFrames: 10,
  maxDatagramBytes: 64512,
  segmentFlushTimeoutMs: 30000,
  lambdaFlushTimeoutMs: 50,
  responseTraceHeader: true,
  downstreamTraced: false,
  routeAnnotation: true,
  middlewareSubsegments: false,
  maxQueuedSends: 1000,
  sendBatchMs: 5,
  maxOpenSegments: 10000,
  maxSubsegmentsPerSegment: 5000,
  awsWhitelist: undefined,
};

const entries = SCHEMA as readonly SchemaEntry[];

/** The default an entry yields outside Lambda, computed ones included. */
function defaultOf(e: SchemaEntry): unknown {
  return typeof e.default === 'function' ? e.default({ env: {}, cwd: APP }) : e.default;
}

// ---- schema --------------------------------------------------------------------------------

test('schema: unique keys and env names, a doc line each, bounds only on integers', () => {
  const keys = new Set<string>();
  const envs = new Set<string>();
  for (const e of entries) {
    assert.match(e.key, /^[a-z][A-Za-z]*$/, 'camelCase key');
    assert.ok(!keys.has(e.key), `duplicate key ${e.key}`);
    keys.add(e.key);
    if (e.env) {
      assert.match(e.env, /^AWS_XRAY_[A-Z_]+$/);
      assert.ok(!envs.has(e.env), `duplicate env ${e.env}`);
      envs.add(e.env);
    }
    assert.ok(e.doc.length > 0 && !e.doc.includes('\n'), `doc of ${e.key}`);
    if (e.type !== 'integer') assert.ok(e.min === undefined && e.max === undefined, e.key);
    if (e.type === 'enum') assert.ok(e.enum && e.enum.length > 0, e.key);
    else assert.equal(e.enum, undefined, e.key);
    if (typeof e.default === 'function' || e.default === undefined) assert.ok(e.defaultDoc, `defaultDoc of ${e.key}`);
  }
  assert.ok(!envs.has(CONFIG_FILE_ENV));
});

test('schema: static defaults are themselves valid values', () => {
  // Feeding every default back through the file path must produce no warning.
  const data: Record<string, unknown> = {};
  for (const e of entries) if (typeof e.default !== 'function' && e.default !== undefined) data[e.key] = e.default;
  const { env, dir } = withFile(data);
  const r = ok(env, dir);
  assert.deepEqual(r.warnings, []);
});

test('isLambda', () => {
  assert.equal(isLambda({}), false);
  assert.equal(isLambda({ LAMBDA_TASK_ROOT: '' }), false);
  assert.equal(isLambda({ LAMBDA_TASK_ROOT: '/var/task' }), true);
  assert.equal(isLambda({ AWS_LAMBDA_FUNCTION_NAME: 'fn' }), true);
});

// ---- defaults ------------------------------------------------------------------------------

test('defaults: empty env gives every default, no warnings, every source "default"', () => {
  const r = ok({});
  assert.deepEqual(r.config, { ...DEFAULTS, serviceName: 'test-app' });
  assert.deepEqual(r.warnings, []);
  assert.equal(r.configFile, undefined);
  assert.deepEqual(Object.keys(r.sources).sort(), entries.map((e) => e.key).sort());
  for (const s of Object.values(r.sources)) assert.equal(s, 'default');
  assert.ok('samplingRules' in r.config);
});

test('defaults: empty or blank env values count as unset', () => {
  const env: NodeJS.ProcessEnv = {};
  for (const e of entries) if (e.env) env[e.env] = '  ';
  env['AWS_XRAY_DEBUG_MODE'] = '';
  env[CONFIG_FILE_ENV] = ' ';
  const r = ok(env);
  assert.deepEqual(r.config, { ...DEFAULTS, serviceName: 'test-app' });
  assert.deepEqual(r.warnings, []);
});

test('defaults: arrays are fresh per load (mutating a config cannot change the schema)', () => {
  const a = ok({});
  a.config.disabledInstrumentations.push('http');
  a.config.daemon.udp.port = 1;
  const b = ok({});
  assert.deepEqual(b.config.disabledInstrumentations, []);
  assert.equal(b.config.daemon.udp.port, 2000);
});

test('Lambda: centralizedSampling off and streamingThreshold 0, unless configured', () => {
  for (const lambdaEnv of [{ LAMBDA_TASK_ROOT: '/var/task' }, { AWS_LAMBDA_FUNCTION_NAME: 'my-fn' }]) {
    const r = ok(lambdaEnv);
    assert.equal(r.config.centralizedSampling, false);
    assert.equal(r.config.streamingThreshold, 0);
    assert.deepEqual(r.warnings, []);
    const r2 = ok({ ...lambdaEnv, AWS_XRAY_CENTRALIZED_SAMPLING: 'true', AWS_XRAY_STREAMING_THRESHOLD: '5' });
    assert.equal(r2.config.centralizedSampling, true);
    assert.equal(r2.config.streamingThreshold, 5);
    // An invalid value falls back to the Lambda default, and the warning says so.
    const r3 = ok({ ...lambdaEnv, AWS_XRAY_STREAMING_THRESHOLD: '-3' });
    assert.equal(r3.config.streamingThreshold, 0);
    assert.deepEqual(r3.warnings, ['AWS_XRAY_STREAMING_THRESHOLD="-3" is not an integer >= 0; using 0']);
  }
});

// ---- booleans ------------------------------------------------------------------------------

const BOOL_KEYS = entries.filter((e) => e.type === 'boolean');

test('boolean: every true and false word, any case, trimmed', () => {
  assert.ok(BOOL_KEYS.length >= 6);
  for (const e of BOOL_KEYS) {
    for (const w of ['true', '1', 'yes', 'y', 'on', 't', 'TRUE', ' Yes ', 'On', 'T']) {
      const r = ok({ [e.env!]: w });
      assert.equal((r.config as unknown as Record<string, unknown>)[e.key], true, `${e.env}=${w}`);
      assert.deepEqual(r.warnings, []);
      assert.equal(r.sources[e.key as keyof LoadedConfig['sources']], 'env');
    }
    for (const w of ['false', '0', 'no', 'n', 'off', 'f', 'FALSE', ' No\t', 'OFF', 'F']) {
      const r = ok({ [e.env!]: w });
      assert.equal((r.config as unknown as Record<string, unknown>)[e.key], false, `${e.env}=${w}`);
      assert.deepEqual(r.warnings, []);
    }
  }
});

test('boolean: invalid env value -> default and one warning', () => {
  for (const e of BOOL_KEYS) {
    for (const bad of ['maybe', '2', 'truee', 'enabled', '-1', 'yes please']) {
      const r = ok({ [e.env!]: bad });
      assert.equal((r.config as unknown as Record<string, unknown>)[e.key], defaultOf(e), `${e.env}=${bad}`);
      assert.deepEqual(r.warnings, [
        `${e.env}=${JSON.stringify(bad)} is not a boolean (true/false, 1/0, yes/no, on/off); using ${String(defaultOf(e))}`,
      ]);
    }
  }
});

test('boolean: file accepts JSON booleans, 1 and 0, and boolean words; rejects other numbers', () => {
  const good = withFile({ enabled: false, collectSqlQueries: 'yes', captureQueryString: true, downstreamTraced: 'ON' });
  const r = ok(good.env, good.dir);
  assert.equal(r.config.enabled, false);
  assert.equal(r.config.collectSqlQueries, true);
  assert.equal(r.config.captureQueryString, true);
  assert.equal(r.config.downstreamTraced, true);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.sources.enabled, 'file');

  // As the environment's "1" and "0" (which the warning lists).
  const numeric = withFile({ enabled: 0, collectSqlQueries: 1 });
  const rn = ok(numeric.env, numeric.dir);
  assert.equal(rn.config.enabled, false);
  assert.equal(rn.config.collectSqlQueries, true);
  assert.deepEqual(rn.warnings, []);

  const bad = withFile({ enabled: 2, responseTraceHeader: null, collectSqlQueries: [true] });
  const r2 = ok(bad.env, bad.dir);
  assert.equal(r2.config.enabled, true);
  assert.equal(r2.config.responseTraceHeader, true);
  assert.equal(r2.config.collectSqlQueries, false);
  assert.equal(r2.warnings.length, 3);
  assert.equal(r2.warnings[0], `${bad.file}: enabled=2 is not a boolean (true/false, 1/0, yes/no, on/off); using true`);
  // Warnings come in schema order.
  assert.match(r2.warnings[1]!, /: collectSqlQueries=\[true\] is not a boolean/);
  assert.match(r2.warnings[2]!, /: responseTraceHeader=null is not a boolean/);
});

// ---- integers ------------------------------------------------------------------------------

const INT_KEYS = entries.filter((e) => e.type === 'integer');

test('integer: the documented warning text', () => {
  const r = ok({ AWS_XRAY_STREAMING_THRESHOLD: 'abc' });
  assert.equal(r.config.streamingThreshold, 100);
  assert.deepEqual(r.warnings, ['AWS_XRAY_STREAMING_THRESHOLD="abc" is not an integer >= 0; using 100']);
});

test('integer: bounds are inclusive; outside or malformed -> default + warning naming the range', () => {
  const expected: Record<string, [number, number | undefined, number]> = {
    streamingThreshold: [0, undefined, 100],
    maxStackFrames: [0, 200, 10],
    maxDatagramBytes: [1024, 65507, 64512],
    segmentFlushTimeoutMs: [0, 3600000, 30000],
    lambdaFlushTimeoutMs: [0, 10000, 50],
    maxQueuedSends: [1, 100000, 1000],
    sendBatchMs: [0, 1000, 5],
    maxOpenSegments: [1, 1000000, 10000],
    maxSubsegmentsPerSegment: [1, 100000, 5000],
    samplingRulesPollMs: [100, 86400000, 300000],
    samplingTargetsPollMs: [100, 86400000, 10000],
    samplingRulesTtlMs: [100, 86400000, 3600000],
  };
  assert.deepEqual(INT_KEYS.map((e) => e.key).sort(), Object.keys(expected).sort());
  for (const e of INT_KEYS) {
    const [min, max, def] = expected[e.key]!;
    assert.equal(e.min, min, e.key);
    assert.equal(e.max, max, e.key);
    const get = (r: LoadedConfig) => (r.config as unknown as Record<string, unknown>)[e.key];

    assert.equal(get(ok({ [e.env!]: String(min) })), min);
    assert.equal(get(ok({ [e.env!]: ` ${min + 1} ` })), min + 1);
    assert.equal(get(ok({ [e.env!]: `+${min + 1}` })), min + 1);
    if (max !== undefined) assert.equal(get(ok({ [e.env!]: String(max) })), max);

    const range = max === undefined ? `>= ${min}` : `between ${min} and ${max}`;
    const bads = [String(min - 1), 'abc', '1.5', '1e3', '0x10', '12abc', '9007199254740993', 'NaN', 'Infinity'];
    if (max !== undefined) bads.push(String(max + 1));
    for (const bad of bads) {
      const r = ok({ [e.env!]: bad });
      assert.equal(get(r), def, `${e.env}=${bad}`);
      assert.deepEqual(r.warnings, [`${e.env}=${JSON.stringify(bad)} is not an integer ${range}; using ${def}`]);
    }
  }
});

test('integer: file accepts JSON integers and integer strings, rejects floats and other types', () => {
  const { env, dir, file } = withFile({
    maxStackFrames: 20,
    maxQueuedSends: '50',
    maxOpenSegments: 1e3,
    streamingThreshold: 1.5,
    maxDatagramBytes: true,
    segmentFlushTimeoutMs: -1,
  });
  const r = ok(env, dir);
  assert.equal(r.config.maxStackFrames, 20);
  assert.equal(r.config.maxQueuedSends, 50);
  assert.equal(r.config.maxOpenSegments, 1000);
  assert.equal(r.config.streamingThreshold, 100);
  assert.equal(r.config.maxDatagramBytes, 64512);
  assert.equal(r.config.segmentFlushTimeoutMs, 30000);
  assert.deepEqual(r.warnings, [
    `${file}: streamingThreshold=1.5 is not an integer >= 0; using 100`,
    `${file}: maxDatagramBytes=true is not an integer between 1024 and 65507; using 64512`,
    `${file}: segmentFlushTimeoutMs=-1 is not an integer between 0 and 3600000; using 30000`,
  ]);
});

// ---- strings and enums ---------------------------------------------------------------------

test('string: trimmed; plugins and serviceName from env', () => {
  const r = ok({ AWS_XRAY_PLUGINS: ' EC2,ECS ', AWS_XRAY_TRACING_NAME: '  checkout  ' });
  assert.equal(r.config.plugins, 'EC2,ECS');
  assert.equal(r.config.serviceName, 'checkout');
  assert.deepEqual(r.warnings, []);
});

test('serviceName: characters X-Ray does not allow in a name are removed, with a warning; a name with none left gives way to the default', () => {
  const changed = ok({ AWS_XRAY_TRACING_NAME: 'orders(api)' });
  assert.equal(changed.config.serviceName, 'ordersapi');
  assert.deepEqual(changed.warnings, ['AWS_XRAY_TRACING_NAME="orders(api)" has characters X-Ray does not allow in a name; using "ordersapi"']);
  const nothingLeft = ok({ AWS_XRAY_TRACING_NAME: '!!!' });
  const byDefault = ok({});
  assert.notEqual(byDefault.config.serviceName, '');
  assert.equal(nothingLeft.config.serviceName, byDefault.config.serviceName, 'the default name, not a nameless one');
  assert.equal(nothingLeft.warnings.length, 1);
  assert.match(nothingLeft.warnings[0]!, /^AWS_XRAY_TRACING_NAME="!!!" has no character X-Ray allows in a name .*; using "/);
  const fromFile = withFile({ serviceName: 'a|b' });
  const rf = ok(fromFile.env, fromFile.dir);
  assert.equal(rf.config.serviceName, 'ab');
  assert.deepEqual(rf.warnings, ['serviceName="a|b" has characters X-Ray does not allow in a name; using "ab"']);
});

test('string: file values must be non-empty strings', () => {
  const { env, dir, file } = withFile({ serviceName: 42, plugins: '  ' });
  const r = ok(env, dir);
  assert.equal(r.config.serviceName, 'test-app');
  assert.equal(r.config.plugins, 'auto');
  assert.deepEqual(r.warnings, [
    `${file}: serviceName=42 is not a non-empty string; using test-app`,
    `${file}: plugins="  " is not a non-empty string; using auto`,
  ]);
});

test('enum: contextMissing is case-insensitive and stored upper-case', () => {
  for (const [input, want] of [
    ['log_error', 'LOG_ERROR'],
    ['Runtime_Error', 'RUNTIME_ERROR'],
    [' IGNORE_ERROR ', 'IGNORE_ERROR'],
  ] as const) {
    const r = ok({ AWS_XRAY_CONTEXT_MISSING: input });
    assert.equal(r.config.contextMissing, want);
    assert.deepEqual(r.warnings, []);
  }
  const r = ok({ AWS_XRAY_CONTEXT_MISSING: 'THROW' });
  assert.equal(r.config.contextMissing, 'IGNORE_ERROR');
  assert.deepEqual(r.warnings, [
    'AWS_XRAY_CONTEXT_MISSING="THROW" is not one of LOG_ERROR, RUNTIME_ERROR, IGNORE_ERROR; using IGNORE_ERROR',
  ]);
});

test('enum: logLevel is case-insensitive and stored lower-case', () => {
  for (const lvl of ['silent', 'error', 'warn', 'info', 'debug']) {
    assert.equal(ok({ AWS_XRAY_LOG_LEVEL: lvl.toUpperCase() }).config.logLevel, lvl);
  }
  const r = ok({ AWS_XRAY_LOG_LEVEL: 'verbose' });
  assert.equal(r.config.logLevel, 'warn');
  assert.deepEqual(r.warnings, ['AWS_XRAY_LOG_LEVEL="verbose" is not one of silent, error, warn, info, debug; using warn']);
  const f = withFile({ logLevel: 7 });
  assert.match(ok(f.env, f.dir).warnings[0]!, /: logLevel=7 is not one of silent, error, warn, info, debug; using warn$/);
});

test('AWS_XRAY_DEBUG_MODE forces debug over env and file; false words and empty do not', () => {
  const f = withFile({ logLevel: 'error' });
  for (const on of ['1', 'true', 'TRUE', 'yes', 'anything', ' x ']) {
    const r = ok({ ...f.env, AWS_XRAY_DEBUG_MODE: on, AWS_XRAY_LOG_LEVEL: 'silent' }, f.dir);
    assert.equal(r.config.logLevel, 'debug', `DEBUG_MODE=${on}`);
    assert.equal(r.sources.logLevel, 'override');
    assert.deepEqual(r.warnings, []);
  }
  for (const off of ['false', '0', 'no', 'off', 'FALSE', ' Off ', '', '  ']) {
    const r = ok({ AWS_XRAY_DEBUG_MODE: off, AWS_XRAY_LOG_LEVEL: 'info' });
    assert.equal(r.config.logLevel, 'info', `DEBUG_MODE=${JSON.stringify(off)}`);
    assert.equal(ok({ AWS_XRAY_DEBUG_MODE: off }).config.logLevel, 'warn');
  }
  // An invalid LOG_LEVEL is still reported, and the warning names the level really used.
  const r = ok({ AWS_XRAY_DEBUG_MODE: '1', AWS_XRAY_LOG_LEVEL: 'loud' });
  assert.equal(r.config.logLevel, 'debug');
  assert.deepEqual(r.warnings, ['AWS_XRAY_LOG_LEVEL="loud" is not one of silent, error, warn, info, debug; using debug']);
});

// ---- list ----------------------------------------------------------------------------------

test('list: comma/space separated, trimmed, lower-cased, empties dropped, de-duplicated', () => {
  const cases: [string, string[]][] = [
    ['http', ['http']],
    ['HTTP,Fetch', ['http', 'fetch']],
    [' pg , mysql2  aws-sdk ', ['pg', 'mysql2', 'aws-sdk']],
    [',,http,,', ['http']],
    [',', []],
    ['http http HTTP', ['http']],
    ['a\tb\nc', ['a', 'b', 'c']],
  ];
  for (const [input, want] of cases) {
    const r = ok({ AWS_XRAY_DISABLED_INSTRUMENTATIONS: input });
    assert.deepEqual(r.config.disabledInstrumentations, want, JSON.stringify(input));
    assert.deepEqual(r.warnings, []);
  }
});

test('list: file accepts an array of strings or the string form; rejects anything else', () => {
  const a = withFile({ disabledInstrumentations: ['HTTP', ' pg ', '', 'fetch, express'] });
  assert.deepEqual(ok(a.env, a.dir).config.disabledInstrumentations, ['http', 'pg', 'fetch', 'express']);
  const s = withFile({ disabledInstrumentations: 'http pg' });
  assert.deepEqual(ok(s.env, s.dir).config.disabledInstrumentations, ['http', 'pg']);
  const e = withFile({ disabledInstrumentations: [] });
  assert.deepEqual(ok(e.env, e.dir).config.disabledInstrumentations, []);

  for (const bad of [['http', 1], { http: false }, 3, null]) {
    const f = withFile({ disabledInstrumentations: bad });
    const r = ok(f.env, f.dir);
    assert.deepEqual(r.config.disabledInstrumentations, []);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0]!, /: disabledInstrumentations=.* is not a list of names .*; using none$/);
  }
});

// ---- daemon address ------------------------------------------------------------------------

test('daemonAddress: raw string kept, endpoints parsed', () => {
  const r = ok({ AWS_XRAY_DAEMON_ADDRESS: ' tcp:[::1]:2001, udp:xray:2002 ' });
  assert.equal(r.config.daemonAddress, 'tcp:[::1]:2001, udp:xray:2002');
  assert.deepEqual(r.config.daemon, { udp: { host: 'xray', port: 2002 }, tcp: { host: '::1', port: 2001 } });
  const one = ok({ AWS_XRAY_DAEMON_ADDRESS: 'udp:10.0.0.1:3000' });
  assert.deepEqual(one.config.daemon, { udp: { host: '10.0.0.1', port: 3000 }, tcp: { host: '127.0.0.1', port: 2000 } });
});

test('daemonAddress: invalid -> default + warning carrying the parser reason', () => {
  const r = ok({ AWS_XRAY_DAEMON_ADDRESS: 'localhost' });
  assert.deepEqual(r.config.daemon, DEFAULTS.daemon);
  assert.equal(r.config.daemonAddress, '127.0.0.1:2000');
  assert.equal(r.warnings.length, 1);
  assert.match(
    r.warnings[0]!,
    /^AWS_XRAY_DAEMON_ADDRESS="localhost" is not a valid daemon address \(.*missing ":port"\); using 127\.0\.0\.1:2000$/,
  );
});

test('daemonAddress: invalid env falls back to the file value', () => {
  const f = withFile({ daemonAddress: 'daemon.local:2000' });
  const r = ok({ ...f.env, AWS_XRAY_DAEMON_ADDRESS: 'udp:a:1 udp:b:2' }, f.dir);
  assert.equal(r.config.daemonAddress, 'daemon.local:2000');
  assert.deepEqual(r.config.daemon.tcp, { host: 'daemon.local', port: 2000 });
  assert.equal(r.sources.daemonAddress, 'file');
  assert.match(r.warnings[0]!, /^AWS_XRAY_DAEMON_ADDRESS="udp:a:1 udp:b:2" .*given twice\); using daemon\.local:2000$/);
  const f2 = withFile({ daemonAddress: 2000 });
  assert.match(ok(f2.env, f2.dir).warnings[0]!, /: daemonAddress=2000 is not a daemon address string; using 127\.0\.0\.1:2000$/);
});

// ---- AWS whitelist -------------------------------------------------------------------------

test('awsWhitelist: env path kept as given, inline JSON parsed; bad inline JSON -> warning and built-in', () => {
  assert.equal(ok({ AWS_XRAY_AWS_WHITELIST: ' ./whitelist.json ' }).config.awsWhitelist, './whitelist.json');
  const inline = { services: { sqs: { operations: { sendMessage: { request_parameters: ['QueueUrl'] } } } } };
  const r = ok({ AWS_XRAY_AWS_WHITELIST: JSON.stringify(inline) });
  assert.deepEqual(r.config.awsWhitelist, inline);
  assert.deepEqual(r.warnings, []);
  for (const [bad, reason] of [
    ['{"services":', /is not valid inline JSON \(/],
    ['[]', /is not a JSON whitelist object \(found an array\)/],
  ] as const) {
    const b = ok({ AWS_XRAY_AWS_WHITELIST: bad });
    assert.equal(b.config.awsWhitelist, undefined);
    assert.equal(b.warnings.length, 1);
    assert.match(b.warnings[0]!, reason);
    assert.ok(b.warnings[0]!.startsWith(`AWS_XRAY_AWS_WHITELIST=${JSON.stringify(bad)} `));
    assert.ok(b.warnings[0]!.endsWith('; using built-in (spec §8.3 services)'), b.warnings[0]);
  }
  const f = withFile({ awsWhitelist: 7 });
  const w = ok(f.env, f.dir);
  assert.equal(w.config.awsWhitelist, undefined);
  assert.match(w.warnings[0]!, /awsWhitelist=7 is not a whitelist file path or a JSON whitelist object/);
});

// ---- sampling rules ------------------------------------------------------------------------

test('samplingRules: env path kept as given, inline JSON parsed', () => {
  assert.equal(ok({ AWS_XRAY_SAMPLING_RULES: ' ./rules.json ' }).config.samplingRules, './rules.json');
  const inline = { version: 2, default: { fixed_target: 1, rate: 0.1 }, rules: [] };
  const r = ok({ AWS_XRAY_SAMPLING_RULES: `  ${JSON.stringify(inline)}` });
  assert.deepEqual(r.config.samplingRules, inline);
  assert.deepEqual(r.warnings, []);
});

test('samplingRules: bad inline JSON -> warning and built-in rules', () => {
  for (const [bad, reason] of [
    ['{"version": 2,', /is not valid inline JSON \(/],
    ['[1,2]', /is not a JSON rules object \(found an array\)/],
  ] as const) {
    const r = ok({ AWS_XRAY_SAMPLING_RULES: bad });
    assert.equal(r.config.samplingRules, undefined);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0]!, reason);
    assert.ok(r.warnings[0]!.startsWith(`AWS_XRAY_SAMPLING_RULES=${JSON.stringify(bad)} `));
    assert.ok(r.warnings[0]!.endsWith('; using built-in (1/s + 5 %)'));
  }
});

test('samplingRules: file object, file path, file inline string; bad types warned', () => {
  const rules = { version: 2, rules: [], default: { fixed_target: 0, rate: 0 } };
  const o = withFile({ samplingRules: rules });
  assert.deepEqual(ok(o.env, o.dir).config.samplingRules, rules);
  const p = withFile({ samplingRules: '/etc/xray/rules.json' });
  assert.equal(ok(p.env, p.dir).config.samplingRules, '/etc/xray/rules.json');
  const s = withFile({ samplingRules: '{"version":2}' });
  assert.deepEqual(ok(s.env, s.dir).config.samplingRules, { version: 2 });
  for (const bad of [5, [rules], '', null]) {
    const f = withFile({ samplingRules: bad });
    const r = ok(f.env, f.dir);
    assert.equal(r.config.samplingRules, undefined);
    assert.equal(r.warnings.length, 1, JSON.stringify(bad));
  }
  // Invalid env inline JSON falls back to the file's object, and says so.
  const r = ok({ ...o.env, AWS_XRAY_SAMPLING_RULES: '{nope' }, o.dir);
  assert.deepEqual(r.config.samplingRules, rules);
  assert.match(r.warnings[0]!, /; using the rules object from the config file$/);
});

// ---- precedence ----------------------------------------------------------------------------

test('precedence: defaults < file < env, per key', () => {
  const f = withFile({
    serviceName: 'from-file',
    streamingThreshold: 7,
    contextMissing: 'LOG_ERROR',
    collectSqlQueries: true,
    plugins: 'ECS',
  });
  const r = ok({ ...f.env, AWS_XRAY_TRACING_NAME: 'from-env', AWS_XRAY_STREAMING_THRESHOLD: '9' }, f.dir);
  assert.equal(r.config.serviceName, 'from-env');
  assert.equal(r.config.streamingThreshold, 9);
  assert.equal(r.config.contextMissing, 'LOG_ERROR');
  assert.equal(r.config.collectSqlQueries, true);
  assert.equal(r.config.plugins, 'ECS');
  assert.equal(r.config.maxStackFrames, 10);
  assert.equal(r.sources.serviceName, 'env');
  assert.equal(r.sources.contextMissing, 'file');
  assert.equal(r.sources.maxStackFrames, 'default');
  assert.equal(r.configFile, f.file);
  assert.deepEqual(r.warnings, []);
});

test('precedence: invalid env uses the valid file value; invalid file and env both reported', () => {
  const f = withFile({ maxStackFrames: 30 });
  const r = ok({ ...f.env, AWS_XRAY_MAX_TRACE_BACK: 'lots' }, f.dir);
  assert.equal(r.config.maxStackFrames, 30);
  assert.deepEqual(r.warnings, ['AWS_XRAY_MAX_TRACE_BACK="lots" is not an integer between 0 and 200; using 30']);

  const g = withFile({ maxStackFrames: 999 });
  const r2 = ok({ ...g.env, AWS_XRAY_MAX_TRACE_BACK: '-1' }, g.dir);
  assert.equal(r2.config.maxStackFrames, 10);
  assert.deepEqual(r2.warnings, [
    `${g.file}: maxStackFrames=999 is not an integer between 0 and 200; using 10`,
    'AWS_XRAY_MAX_TRACE_BACK="-1" is not an integer between 0 and 200; using 10',
  ]);

  // Invalid file value, valid env: the file warning names the env value actually used.
  const r3 = ok({ ...g.env, AWS_XRAY_MAX_TRACE_BACK: '3' }, g.dir);
  assert.equal(r3.config.maxStackFrames, 3);
  assert.deepEqual(r3.warnings, [`${g.file}: maxStackFrames=999 is not an integer between 0 and 200; using 3`]);
});

test('file: every key set from the file', () => {
  const data = {
    enabled: false,
    serviceName: 'svc',
    daemonAddress: 'udp:d:1 tcp:d:2',
    contextMissing: 'runtime_error',
    logLevel: 'INFO',
    samplingRules: 'rules.json',
    centralizedSampling: false,
    samplingRulesPollMs: 1000,
    samplingTargetsPollMs: 200,
    samplingRulesTtlMs: 5000,
    plugins: 'EC2',
    elasticBeanstalkConfigFile: '/eb.conf',
    eksServiceAccountDir: '/sa',
    eksClusterName: 'prod',
    disabledInstrumentations: ['pg'],
    collectSqlQueries: true,
    captureQueryString: true,
    streamingThreshold: 1,
    maxStackFrames: 2,
    maxDatagramBytes: 2048,
    segmentFlushTimeoutMs: 0,
    lambdaFlushTimeoutMs: 20,
    responseTraceHeader: false,
    downstreamTraced: true,
    routeAnnotation: false,
    middlewareSubsegments: true,
    maxQueuedSends: 3,
    sendBatchMs: 0,
    maxOpenSegments: 4,
    maxSubsegmentsPerSegment: 5,
    awsWhitelist: { services: { sqs: { operations: {} } } },
  };
  assert.deepEqual(Object.keys(data).sort(), entries.map((e) => e.key).sort(), 'test covers every key');
  const f = withFile(data);
  const r = ok(f.env, f.dir);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.config, {
    ...data,
    contextMissing: 'RUNTIME_ERROR',
    logLevel: 'info',
    daemon: { udp: { host: 'd', port: 1 }, tcp: { host: 'd', port: 2 } },
  });
  for (const s of Object.values(r.sources)) assert.equal(s, 'file');
});

// ---- config file errors --------------------------------------------------------------------

test('file: missing file -> error naming the resolved path', () => {
  const msg = loadErr({ [CONFIG_FILE_ENV]: 'nope/missing.json' }, APP);
  const abs = path.join(APP, 'nope/missing.json');
  assert.ok(msg.includes(JSON.stringify(abs)), msg);
  assert.match(msg, /cannot read config file .*ENOENT/);
  assert.ok(!msg.includes('\n'));
});

test('file: a directory -> error', () => {
  const msg = loadErr({ [CONFIG_FILE_ENV]: APP });
  assert.ok(msg.includes(JSON.stringify(APP)), msg);
  assert.match(msg, /EISDIR/);
});

test('file: bad JSON -> one-line error naming the file and the parse error', () => {
  for (const text of ['{ "enabled": tru }', '', '{\n"a": 1,\n}', 'enabled=true']) {
    const f = withFile(text, true);
    const msg = loadErr(f.env, f.dir);
    assert.ok(msg.includes(JSON.stringify(f.file)), msg);
    assert.match(msg, /is not valid JSON: /);
    assert.ok(!msg.includes('\n'), msg);
  }
});

test('file: top level must be an object', () => {
  for (const [content, kind] of [
    [[], 'an array'],
    [[{ enabled: true }], 'an array'],
    [null, 'null'],
    [42, 'a number'],
    ['x', 'a string'],
    [true, 'a boolean'],
  ] as const) {
    const f = withFile(content);
    const msg = loadErr(f.env, f.dir);
    assert.ok(msg.includes(JSON.stringify(f.file)), msg);
    assert.ok(msg.endsWith(`must contain a JSON object at the top level, not ${kind}`), msg);
  }
});

test('file: path relative to cwd; BOM tolerated; empty object fine', () => {
  const dir = appDir();
  fs.mkdirSync(path.join(dir, 'conf'));
  fs.writeFileSync(path.join(dir, 'conf', 'x.json'), '\uFEFF{"plugins": "ECS"}');
  const r = ok({ [CONFIG_FILE_ENV]: 'conf/x.json' }, dir);
  assert.equal(r.config.plugins, 'ECS');
  assert.equal(r.configFile, path.join(dir, 'conf', 'x.json'));
  const e = withFile({});
  assert.deepEqual(ok(e.env, e.dir).warnings, []);
});

test('file: unknown keys -> one warning each, with a hint for near misses', () => {
  const f = withFile({ enabled: true, colour: 'blue', ServiceName: 'x', AWS_XRAY_PLUGINS: 'EC2', 'bad\nkey': 1 });
  const r = ok(f.env, f.dir);
  assert.deepEqual(r.warnings, [
    `${f.file}: unknown key "colour" ignored`,
    `${f.file}: unknown key "ServiceName" ignored (did you mean "serviceName"?)`,
    `${f.file}: unknown key "AWS_XRAY_PLUGINS" ignored (did you mean "plugins"?)`,
    `${f.file}: unknown key "bad\\nkey" ignored`,
  ]);
  assert.equal(r.config.serviceName, 'test-app');
});

test('file: unknown-key warnings are capped', () => {
  const data: Record<string, number> = {};
  for (let i = 0; i < 50; i++) data[`k${i}`] = i;
  const f = withFile(data);
  const r = ok(f.env, f.dir);
  assert.equal(r.warnings.length, 21);
  assert.equal(r.warnings[20], `${f.file}: 30 more unknown keys ignored`);
});

test('file: __proto__ and other prototype names are just unknown keys', () => {
  const f = withFile('{"__proto__": {"enabled": false}, "constructor": 1, "toString": 2}', true);
  const r = ok(f.env, f.dir);
  assert.equal(r.config.enabled, true);
  assert.equal(r.warnings.length, 3);
  assert.equal(({} as Record<string, unknown>)['enabled'], undefined);
});

// ---- warning text --------------------------------------------------------------------------

test('warnings: bad values truncated to 100 chars and escaped to one line', () => {
  const long = 'x'.repeat(500);
  const r = ok({ AWS_XRAY_PLUGINS: 'EC2', AWS_XRAY_TRACING_NAME: 'a', AWS_XRAY_LOG_LEVEL: long });
  assert.deepEqual(r.warnings, [
    `AWS_XRAY_LOG_LEVEL="${'x'.repeat(100)}…" is not one of silent, error, warn, info, debug; using warn`,
  ]);
  const r2 = ok({ AWS_XRAY_SDK_ENABLED: 'yes\n{"level":"fake"}\u001b[31m' });
  assert.equal(r2.warnings.length, 1);
  assert.doesNotMatch(r2.warnings[0]!, /[\u0000-\u001f]/);
  assert.ok(r2.warnings[0]!.startsWith('AWS_XRAY_SDK_ENABLED="yes\\n{\\"level\\":\\"fake\\"}\\u001b[31m"'));
});

// ---- serviceName default -------------------------------------------------------------------

test('serviceName: nearest package.json with a name, walking up; scoped names kept', () => {
  const root = appDir({ name: '@acme/orders' });
  const deep = path.join(root, 'src', 'lib');
  fs.mkdirSync(deep, { recursive: true });
  // A nameless package.json in between (e.g. {"type":"module"}) is skipped, as is a broken one.
  fs.writeFileSync(path.join(root, 'src', 'package.json'), '{"type":"module"}');
  fs.writeFileSync(path.join(deep, 'package.json'), '{not json');
  assert.equal(ok({}, deep).config.serviceName, '@acme/orders');
  assert.equal(defaultServiceName(deep), '@acme/orders');
  assert.equal(ok({}, root).config.serviceName, '@acme/orders');
});

test('serviceName: name must be a non-empty string', () => {
  const root = appDir({ name: 'outer' });
  const inner = path.join(root, 'inner');
  fs.mkdirSync(inner);
  for (const pkg of [{ name: '' }, { name: 7 }, { name: '   ' }, [], null]) {
    fs.writeFileSync(path.join(inner, 'package.json'), JSON.stringify(pkg));
    assert.equal(defaultServiceName(inner), 'outer', JSON.stringify(pkg));
  }
});

function ancestorsHavePackageJson(dir: string): boolean {
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return true;
    const parent = path.dirname(dir);
    if (parent === dir) return false;
    dir = parent;
  }
}

test('serviceName: no package.json anywhere -> basename of cwd', { skip: ancestorsHavePackageJson(tmpRoot) && 'a package.json above the temp dir' }, () => {
  const dir = appDir(null);
  assert.equal(ok({}, dir).config.serviceName, path.basename(dir));
  assert.equal(defaultServiceName(path.parse(dir).root), 'unknown');
});

test('serviceName: package.json is read only when env and file give no name', () => {
  const calls: string[] = [];
  const orig = fsModule.readFileSync;
  (fsModule as { readFileSync: unknown }).readFileSync = function (this: unknown, p: fs.PathOrFileDescriptor, ...rest: unknown[]) {
    calls.push(String(p));
    return (orig as (...a: unknown[]) => unknown).call(this, p, ...rest);
  };
  try {
    const pkgReads = () => calls.filter((c) => c.endsWith('package.json')).length;
    ok({ AWS_XRAY_TRACING_NAME: 'svc' });
    assert.equal(pkgReads(), 0);
    const f = withFile({ serviceName: 'from-file' });
    ok(f.env, f.dir);
    assert.equal(pkgReads(), 0);
    assert.deepEqual(calls, [f.file]);
    ok({});
    assert.equal(pkgReads(), 1);
  } finally {
    (fsModule as { readFileSync: unknown }).readFileSync = orig;
  }
});

test('cwd defaults to process.cwd()', () => {
  const prev = process.cwd();
  const dir = appDir({ name: 'cwd-app' });
  process.chdir(dir);
  try {
    const r = loadConfig({ [CONFIG_FILE_ENV]: 'missing.json' });
    assert.ok('error' in r && r.error.includes(JSON.stringify(path.join(dir, 'missing.json'))));
    const r2 = loadConfig({});
    assert.ok(!('error' in r2) && r2.config.serviceName === 'cwd-app');
  } finally {
    process.chdir(prev);
  }
});

// ---- README table --------------------------------------------------------------------------

test('configTableMarkdown: header, config-file row, one row per key, no stray pipes', () => {
  const md = configTableMarkdown();
  const lines = md.trimEnd().split('\n');
  assert.equal(lines[0], '| env | JSON key | default | meaning |');
  assert.equal(lines[1], '| --- | --- | --- | --- |');
  assert.ok(lines[2]!.startsWith(`| \`${CONFIG_FILE_ENV}\` | – | none |`));
  assert.equal(lines.length, 3 + entries.length);
  for (const [i, e] of entries.entries()) {
    const line = lines[3 + i]!;
    assert.ok(line.includes(`| \`${e.key}\` |`), line);
    if (e.env) assert.ok(line.startsWith(`| \`${e.env}\``), line);
    // 4 columns = 5 unescaped pipes
    assert.equal(line.replace(/\\\|/g, '').split('|').length, 6, line);
    const cells = line.split(' | ');
    assert.ok(cells[2]!.trim().length > 0, `default cell of ${e.key}`);
  }
  assert.ok(md.includes('| `AWS_XRAY_LOG_LEVEL` / `AWS_XRAY_DEBUG_MODE` | `logLevel` | `warn` |'));
  assert.ok(md.includes('| `AWS_XRAY_STREAMING_THRESHOLD` | `streamingThreshold` | `100` (`0` in Lambda) |'));
  assert.ok(md.includes('| `AWS_XRAY_DISABLED_INSTRUMENTATIONS` | `disabledInstrumentations` | none |'));
  assert.ok(md.includes('| `AWS_XRAY_SAMPLING_RULES` | `samplingRules` | built-in (1/s + 5 %) |'));
});

// ---- robustness ----------------------------------------------------------------------------

test('never throws: random strings in every env var', () => {
  let seed = 1234567;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const pool = [
    '', ' ', '{', '}', '[', ']', ',', ':', '"', '\\', '\n', '\u0000', '\u2028', '\uD800', '-', '+', '.', 'e',
    '0', '1', '9', 'true', 'false', 'udp:', 'tcp:', '[::1]', 'null', '__proto__', 'debug', 'LOG_ERROR', 'x',
  ];
  const names = [...entries.filter((e) => e.env).map((e) => e.env!), 'AWS_XRAY_DEBUG_MODE', 'LAMBDA_TASK_ROOT'];
  const randomString = () => {
    let s = '';
    const n = Math.floor(rand() * 12);
    for (let i = 0; i < n; i++) s += pool[Math.floor(rand() * pool.length)];
    return s;
  };
  for (let i = 0; i < 400; i++) {
    const env: NodeJS.ProcessEnv = {};
    for (const n of names) if (rand() < 0.7) env[n] = randomString();
    let r: ReturnType<typeof loadConfig>;
    assert.doesNotThrow(() => {
      r = loadConfig(env, APP);
    }, JSON.stringify(env));
    assert.ok(!('error' in r!), `no file named, so no error: ${JSON.stringify(env)}`);
    const c = r!.config;
    assert.equal(typeof c.enabled, 'boolean');
    assert.equal(typeof c.serviceName, 'string');
    assert.ok(c.serviceName.length > 0);
    assert.ok(Number.isInteger(c.daemon.udp.port) && Number.isInteger(c.daemon.tcp.port));
    assert.ok(['LOG_ERROR', 'RUNTIME_ERROR', 'IGNORE_ERROR'].includes(c.contextMissing));
    assert.ok(['silent', 'error', 'warn', 'info', 'debug'].includes(c.logLevel));
    assert.ok(Array.isArray(c.disabledInstrumentations));
    for (const e of INT_KEYS) {
      const v = (c as unknown as Record<string, number>)[e.key]!;
      assert.ok(Number.isSafeInteger(v) && v >= (e.min ?? -Infinity) && v <= (e.max ?? Infinity), e.key);
    }
    for (const w of r!.warnings) {
      assert.equal(typeof w, 'string');
      assert.doesNotMatch(w, /[\n\r]/, 'warnings are one line');
    }
  }
});

test('never throws: random config file contents and odd arguments', () => {
  let seed = 99;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const pool = ['{', '}', '[', ']', ',', ':', '"enabled"', '"daemonAddress"', '"samplingRules"', '"x"', '1', 'true', 'null', ' ', '"'];
  for (let i = 0; i < 200; i++) {
    let text = '';
    const n = Math.floor(rand() * 15);
    for (let j = 0; j < n; j++) text += pool[Math.floor(rand() * pool.length)];
    const f = withFile(text, true);
    const r = loadConfig(f.env, f.dir);
    if ('error' in r) assert.ok(r.error.includes(f.file));
  }
  assert.doesNotThrow(() => loadConfig(undefined as unknown as NodeJS.ProcessEnv, APP));
  assert.doesNotThrow(() => loadConfig(null as unknown as NodeJS.ProcessEnv, 42 as unknown as string));
  const weird = { AWS_XRAY_PLUGINS: 5, AWS_XRAY_SDK_ENABLED: {}, [CONFIG_FILE_ENV]: ['x'] } as unknown as NodeJS.ProcessEnv;
  const r = loadConfig(weird, APP);
  assert.ok(!('error' in r));
  const throwing = new Proxy({}, { get: () => { throw new Error('boom'); } }) as NodeJS.ProcessEnv;
  const t = loadConfig(throwing, APP);
  assert.ok('error' in t && t.error.includes('boom'));
});
