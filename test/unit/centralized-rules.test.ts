// Centralized sampling rules (spec §4.4): validation of GetSamplingRules records, evaluation
// order, and wildcard matching on every rule attribute.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareRules,
  parseRuleRecord,
  parseRuleRecords,
  ruleMatches,
  type CentralizedRule,
} from '../../agent/sampling/centralized-rules';
import { samplingRule, defaultRule, type SamplingRuleWire } from '../helpers/sampling-proxy';

const record = (rule: Partial<SamplingRuleWire> & { RuleName: string }) => ({
  SamplingRule: samplingRule(rule),
  CreatedAt: 0,
  ModifiedAt: 1717000000,
});

function accepted(r: ReturnType<typeof parseRuleRecord>): CentralizedRule {
  assert.ok(!('reason' in r), `expected an accepted rule, got ${JSON.stringify(r)}`);
  return r as CentralizedRule;
}

test('a complete record becomes a rule with every field', () => {
  const r = accepted(
    parseRuleRecord(
      record({
        RuleName: 'api',
        Priority: 5,
        FixedRate: 0.25,
        ReservoirSize: 3,
        ServiceName: 'orders-*',
        ServiceType: 'AWS::EC2::Instance',
        Host: '*.example.com',
        HTTPMethod: 'GET',
        URLPath: '/api/*',
      }),
    ),
  );
  assert.deepEqual({ ...r }, {
    name: 'api',
    priority: 5,
    fixedRate: 0.25,
    reservoirSize: 3,
    serviceName: 'orders-*',
    serviceType: 'AWS::EC2::Instance',
    host: '*.example.com',
    httpMethod: 'GET',
    urlPath: '/api/*',
    resourceArn: '*',
    isDefault: false,
  });
  assert.ok(Object.isFrozen(r));
});

test('missing or null pattern fields mean "*"; Attributes absent, null or empty are fine', () => {
  const rule: Record<string, unknown> = { RuleName: 'bare', Priority: 1, FixedRate: 0.1, ReservoirSize: 0, ResourceARN: '*', Version: 1 };
  const r = accepted(parseRuleRecord({ SamplingRule: rule }));
  assert.deepEqual([r.serviceName, r.serviceType, r.host, r.httpMethod, r.urlPath], ['*', '*', '*', '*', '*']);
  accepted(parseRuleRecord({ SamplingRule: { ...rule, Host: null, Attributes: null } }));
  accepted(parseRuleRecord({ SamplingRule: { ...rule, Attributes: {} } }));
});

test('rules the agent cannot honour are dropped with a reason', () => {
  const cases: Array<[unknown, RegExp]> = [
    [record({ RuleName: 'v2', Version: 2 }), /unsupported Version 2/],
    [{ SamplingRule: { ...samplingRule({ RuleName: 'nov' }), Version: undefined } }, /unsupported Version missing/],
    [record({ RuleName: 'arn', ResourceARN: 'arn:aws:s3:::bucket' }), /ResourceARN "arn:aws:s3:::bucket" is not "\*"/],
    [record({ RuleName: 'attrs', Attributes: { team: 'a' } }), /Attributes are not supported/],
    [{ SamplingRule: { ...samplingRule({ RuleName: 'attrs2' }), Attributes: 'x' } }, /Attributes is "x"/],
    [record({ RuleName: 'prio', Priority: '1' as unknown as number }), /Priority is "1", not a number/],
    [record({ RuleName: 'rate', FixedRate: 1.5 }), /FixedRate is 1.5/],
    [record({ RuleName: 'rate2', FixedRate: -0.1 }), /FixedRate is -0.1/],
    [record({ RuleName: 'res', ReservoirSize: -1 }), /ReservoirSize is -1/],
    [record({ RuleName: 'host', Host: 5 as unknown as string }), /Host is 5, not a string pattern/],
    [record({ RuleName: '' }), /RuleName is "", not a non-empty string/],
    [{ SamplingRule: 'x' }, /SamplingRule is "x", not an object/],
    [null, /record is null/],
    [[], /record is an array/],
  ];
  for (const [input, reason] of cases) {
    const r = parseRuleRecord(input, 3);
    assert.ok('reason' in r, `should be dropped: ${JSON.stringify(input)}`);
    assert.match((r as { reason: string }).reason, reason);
  }
  // The name is kept when it was readable, else the record's position.
  assert.equal((parseRuleRecord(record({ RuleName: 'v2', Version: 2 })) as { name: string }).name, 'v2');
  assert.equal((parseRuleRecord(null, 7) as { name: string }).name, '#7');
});

test('order: priority ascending, ties by name (code-unit order), Default last whatever its priority', () => {
  const { rules, dropped } = parseRuleRecords([
    record({ RuleName: 'Default', Priority: 1 }),
    record({ RuleName: 'b', Priority: 10 }),
    record({ RuleName: 'a', Priority: 10 }),
    record({ RuleName: 'B', Priority: 10 }),
    record({ RuleName: 'z', Priority: 2 }),
    record({ RuleName: 'late', Priority: 9999 }),
    record({ RuleName: 'bad', Version: 2 }),
  ]);
  assert.deepEqual(rules.map((r) => r.name), ['z', 'B', 'a', 'b', 'late', 'Default']);
  assert.deepEqual(dropped.map((d) => d.name), ['bad']);
  assert.equal(compareRules(rules[0]!, rules[0]!), 0);
});

test('a duplicate rule name keeps the first record', () => {
  const { rules, dropped } = parseRuleRecords([
    record({ RuleName: 'x', Priority: 1, FixedRate: 0.1 }),
    record({ RuleName: 'x', Priority: 2, FixedRate: 0.9 }),
  ]);
  assert.equal(rules.length, 1);
  assert.equal(rules[0]!.fixedRate, 0.1);
  assert.match(dropped[0]!.reason, /duplicate/);
});

const rule = (fields: Partial<SamplingRuleWire>) => accepted(parseRuleRecord(record({ RuleName: 'r', ...fields })));

test('matching: each attribute with wildcards, case-insensitively', () => {
  const full = { host: 'shop.example.com', method: 'GET', urlPath: '/api/orders/7', serviceName: 'orders-api', serviceType: 'AWS::EC2::Instance' };
  const cases: Array<[Partial<SamplingRuleWire>, keyof typeof full, string]> = [
    [{ Host: '*.example.com' }, 'host', 'shop.example.org'],
    [{ Host: 'shop.example.co?' }, 'host', 'shop.example.co'],
    [{ HTTPMethod: 'get' }, 'method', 'POST'],
    [{ URLPath: '/api/*' }, 'urlPath', '/health'],
    [{ URLPath: '/api/orders/?' }, 'urlPath', '/api/orders/77'],
    [{ ServiceName: 'ORDERS-*' }, 'serviceName', 'billing-api'],
    [{ ServiceType: 'AWS::EC2::*' }, 'serviceType', 'AWS::ECS::Container'],
  ];
  for (const [fields, attr, other] of cases) {
    const r = rule(fields);
    assert.equal(ruleMatches(r, full), true, `${JSON.stringify(fields)} should match ${full[attr]}`);
    assert.equal(ruleMatches(r, { ...full, [attr]: other }), false, `${JSON.stringify(fields)} must not match ${other}`);
    // Missing / empty request attribute: implicit match (spec §4.1).
    assert.equal(ruleMatches(r, { ...full, [attr]: undefined }), true);
    assert.equal(ruleMatches(r, { ...full, [attr]: '' }), true);
  }
  // All fields must match at once.
  const all = rule({ Host: 'shop.*', HTTPMethod: 'GET', URLPath: '/api/*', ServiceName: 'orders-api', ServiceType: '*' });
  assert.equal(ruleMatches(all, full), true);
  assert.equal(ruleMatches(all, { ...full, method: 'DELETE' }), false);
});

test('Default matches every request, even with narrow patterns', () => {
  const d = accepted(parseRuleRecord({ SamplingRule: defaultRule({ URLPath: '/only' }) }));
  assert.equal(d.isDefault, true);
  assert.equal(ruleMatches(d, { urlPath: '/other', method: 'GET' }), true);
  assert.equal(ruleMatches(d, {}), true);
});
