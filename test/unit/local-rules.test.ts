import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILT_IN_RULES, parseLocalRules, type LocalRuleSet } from '../../agent/sampling/local-rules';

const dir = mkdtempSync(join(tmpdir(), 'xray-local-rules-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeTemp(name: string, content: string): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

function ok(source: string | object): LocalRuleSet {
  const r = parseLocalRules(source);
  assert.equal(r.error, undefined, `unexpected error: ${r.error}`);
  return r.rules!;
}

function err(source: string | object): string {
  const r = parseLocalRules(source);
  assert.equal(r.rules, undefined, 'expected an error');
  assert.equal(typeof r.error, 'string');
  assert.doesNotMatch(r.error!, /\n/, 'error must be one line');
  return r.error!;
}

const rule = { host: '*', http_method: 'GET', url_path: '/api/*', fixed_target: 2, rate: 0.5 };
const v2 = (rules: unknown[], def: unknown = { fixed_target: 1, rate: 0.1 }) => ({ version: 2, rules, default: def });

test('built-in default is 1 request/s + 5 %, no rules, frozen', () => {
  assert.deepEqual(BUILT_IN_RULES.defaultRule, { fixedTarget: 1, rate: 0.05 });
  assert.equal(BUILT_IN_RULES.rules.length, 0);
  assert.ok(Object.isFrozen(BUILT_IN_RULES));
  assert.ok(Object.isFrozen(BUILT_IN_RULES.defaultRule));
});

test('parses a version 2 document, rules in file order', () => {
  const set = ok({
    version: 2,
    rules: [
      { description: 'Player moves.', host: '*', http_method: '*', url_path: '/api/move/*', fixed_target: 0, rate: 0.05 },
      rule,
    ],
    default: { fixed_target: 1, rate: 0.1 },
  });
  assert.equal(set.version, 2);
  assert.deepEqual(set.defaultRule, { fixedTarget: 1, rate: 0.1 });
  assert.deepEqual(set.rules, [
    { host: '*', httpMethod: '*', urlPath: '/api/move/*', fixedTarget: 0, rate: 0.05, description: 'Player moves.' },
    { host: '*', httpMethod: 'GET', urlPath: '/api/*', fixedTarget: 2, rate: 0.5 },
  ]);
});

test('rules are optional; default alone is enough', () => {
  const set = ok({ version: 2, default: { fixed_target: 0, rate: 1 } });
  assert.equal(set.rules.length, 0);
  assert.deepEqual(set.defaultRule, { fixedTarget: 0, rate: 1 });
  assert.equal(ok({ version: 1, rules: [], default: { fixed_target: 3, rate: 0 } }).rules.length, 0);
});

test('version 1: service_name is the host pattern', () => {
  const set = ok({
    version: 1,
    rules: [{ service_name: '*.example.com', http_method: 'POST', url_path: '/x', fixed_target: 1, rate: 0 }],
    default: { fixed_target: 1, rate: 0.05 },
  });
  assert.equal(set.version, 1);
  assert.equal(set.rules[0]!.host, '*.example.com');
});

test('the other version\'s host key is rejected with a hint', () => {
  assert.match(err(v2([{ ...rule, host: undefined, service_name: 'x' }])), /rules\[0\]\.service_name: not allowed in version 2 \(use host\)/);
  const { host: _h, ...noHost } = rule;
  assert.match(
    err({ version: 1, rules: [{ ...noHost, host: 'x' }], default: { fixed_target: 1, rate: 0 } }),
    /rules\[0\]\.host: not allowed in version 1 \(use service_name\)/,
  );
  // v1 rule without service_name: missing.
  assert.match(
    err({ version: 1, rules: [noHost], default: { fixed_target: 1, rate: 0 } }),
    /rules\[0\]\.service_name: missing/,
  );
});

test('version must be 1 or 2', () => {
  assert.match(err({ default: { fixed_target: 1, rate: 0 } }), /version: missing \(must be 1 or 2\)/);
  assert.match(err({ version: 3, default: { fixed_target: 1, rate: 0 } }), /version: must be 1 or 2 \(got 3\)/);
  assert.match(err({ version: '2', default: { fixed_target: 1, rate: 0 } }), /version: must be 1 or 2 \(got string "2"\)/);
});

test('the document must be an object', () => {
  assert.match(err([]), /must be a JSON object \(got an array\)/);
  assert.match(err(writeTemp('null.json', 'null')), /must be a JSON object \(got null\)/);
});

test('default: required, an object with fixed_target and rate only', () => {
  assert.match(err({ version: 2 }), /default: missing/);
  assert.match(err({ version: 2, default: 5 }), /default: must be an object \(got 5\)/);
  assert.match(err({ version: 2, default: null }), /default: must be an object \(got null\)/);
  assert.match(err(v2([], { rate: 0.1 })), /default\.fixed_target: missing/);
  assert.match(err(v2([], { fixed_target: 1 })), /default\.rate: missing/);
  assert.match(err(v2([], { fixed_target: 1, rate: 0.1, url_path: '*' })), /default\.url_path: not allowed/);
  assert.match(err(v2([], { fixed_target: 1, rate: 0.1, host: '*' })), /default\.host: not allowed/);
  assert.match(err(v2([], { fixed_target: 1, rate: 0.1, fixedTarget: 1 })), /default\.fixedTarget: unknown key/);
  assert.deepEqual(ok(v2([], { fixed_target: 1, rate: 0.1, description: 'fallback' })).defaultRule, { fixedTarget: 1, rate: 0.1 });
});

test('fixed_target must be a non-negative integer', () => {
  for (const bad of [-1, 1.5, '1', null, NaN, Infinity, true]) {
    assert.match(err(v2([], { fixed_target: bad, rate: 0.1 })), /default\.fixed_target: must be a non-negative integer/);
    assert.match(err(v2([rule, { ...rule, fixed_target: bad }])), /^sampling rules object: rules\[1\]\.fixed_target: must be a non-negative integer/);
  }
  assert.equal(ok(v2([{ ...rule, fixed_target: 0 }])).rules[0]!.fixedTarget, 0);
});

test('rate must be a number from 0 to 1', () => {
  for (const bad of [-0.1, 1.5, '0.5', null, NaN, Infinity]) {
    assert.match(err(v2([], { fixed_target: 1, rate: bad })), /default\.rate: must be a number from 0 to 1/);
    assert.match(err(v2([{ ...rule, rate: bad }])), /rules\[0\]\.rate: must be a number from 0 to 1/);
  }
  assert.match(err(v2([{ ...rule, rate: 1.5 }])), /\(got 1\.5\)/);
  assert.equal(ok(v2([{ ...rule, rate: 0 }])).rules[0]!.rate, 0);
  assert.equal(ok(v2([{ ...rule, rate: 1 }])).rules[0]!.rate, 1);
});

test('rules: must be an array of objects', () => {
  assert.match(err({ version: 2, rules: {}, default: { fixed_target: 1, rate: 0 } }), /rules: must be an array \(got an object\)/);
  assert.match(err(v2([rule, 'x'])), /rules\[1\]: must be an object \(got string "x"\)/);
  assert.match(err(v2([null])), /rules\[0\]: must be an object \(got null\)/);
});

test('each rule field is required and validated', () => {
  for (const field of ['host', 'http_method', 'url_path', 'fixed_target', 'rate'] as const) {
    const r: Record<string, unknown> = { ...rule };
    delete r[field];
    assert.match(err(v2([rule, r])), new RegExp(`rules\\[1\\]\\.${field}: missing`));
  }
  for (const field of ['host', 'http_method', 'url_path'] as const) {
    assert.match(err(v2([{ ...rule, [field]: '' }])), new RegExp(`rules\\[0\\]\\.${field}: must be a non-empty string pattern \\(got string ""\\)`));
    assert.match(err(v2([{ ...rule, [field]: 5 }])), new RegExp(`rules\\[0\\]\\.${field}: must be a non-empty string pattern \\(got 5\\)`));
  }
  assert.match(err(v2([{ ...rule, description: 7 }])), /rules\[0\]\.description: must be a string/);
  assert.match(err(v2([{ ...rule, urlPath: '/x' }])), /rules\[0\]\.urlPath: unknown key \(allowed: host, http_method, url_path, fixed_target, rate, description\)/);
});

test('unknown top-level keys are ignored', () => {
  assert.equal(ok({ ...v2([rule]), comment: 'hi' }).rules.length, 1);
});

test('file path source', () => {
  const file = writeTemp('rules.json', JSON.stringify(v2([rule])));
  const set = ok(file);
  assert.equal(set.rules[0]!.urlPath, '/api/*');
});

test('file path source: errors name the file', () => {
  const missing = join(dir, 'nope.json');
  const e1 = err(missing);
  assert.ok(e1.startsWith(`sampling rules file ${missing}: cannot read:`), e1);
  assert.match(e1, /ENOENT/);

  const broken = writeTemp('broken.json', '{ "version": 2,\n  "default": ');
  const e2 = err(broken);
  assert.ok(e2.startsWith(`sampling rules file ${broken}: invalid JSON:`), e2);

  const invalid = writeTemp('invalid.json', JSON.stringify(v2([rule, { ...rule, rate: 2 }])));
  assert.equal(err(invalid), `sampling rules file ${invalid}: rules[1].rate: must be a number from 0 to 1 (got 2)`);

  assert.match(err(dir), /cannot read: .*EISDIR/);
});

test('inline JSON source (leading whitespace allowed)', () => {
  const set = ok(`  \n${JSON.stringify(v2([rule]))}`);
  assert.equal(set.rules.length, 1);
  assert.match(err('{"version": 2, "default": {'), /^inline sampling rules: invalid JSON: /);
  assert.equal(err('{"version": 2}'), 'inline sampling rules: default: missing (an object with fixed_target and rate)');
});

test('an empty string is an error', () => {
  assert.match(err(''), /empty/);
  assert.match(err('   '), /empty/);
});

test('parsed rules are frozen', () => {
  const set = ok(v2([rule]));
  assert.ok(Object.isFrozen(set));
  assert.ok(Object.isFrozen(set.rules));
  assert.ok(Object.isFrozen(set.rules[0]));
});
