/**
 * The infrastructure of `examples/lambda-scheduled`, checked offline: the CDK stack synthesized with
 * `aws-cdk-lib/assertions` (no AWS account, no built asset), and the Terraform module parsed with `@cdktf/hcl2json`
 * (Terraform itself cannot run here). Both must give the lease table the store's layout, stay single-region, and grant
 * the function exactly GetItem and UpdateItem on the lease table.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '@cdktf/hcl2json';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_ASSET_DIR, LEASE_TABLE_ACTIONS, LeaseholdLambdaStack, type LeaseholdLambdaStackProps } from '../infra/cdk/stack.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const LEASE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:UpdateItem'];
/** Actions the function must never get: wildcards, and the reads and deletes leasehold does not make. */
const FORBIDDEN_ACTION = /^(\*|dynamodb:\*|dynamodb:(Scan|Query|DeleteItem|Batch\w*|PartiQL\w*|DeleteTable|\w*\*))$/;

// Synthesis writes a cloud assembly; keep them all under one directory removed at the end (else each lands in /tmp).
const outRoot = mkdtempSync(join(tmpdir(), 'leasehold-cdk-'));
afterAll(() => rmSync(outRoot, { recursive: true, force: true }));

const inlineCode = () => lambda.Code.fromInline('exports.handler=async()=>{}');
const synth = (props: LeaseholdLambdaStackProps = {}) =>
  Template.fromStack(new LeaseholdLambdaStack(new App({ outdir: mkdtempSync(join(outRoot, 'app-')) }), 'Test', { code: inlineCode(), ...props }));

/** The one logical id of a resource type in the template. */
function onlyId(template: Template, type: string): string {
  const ids = Object.keys(template.findResources(type));
  expect(ids, type).toHaveLength(1);
  return ids[0] as string;
}

/** Every IAM statement of the template: standalone policies and roles' inline policies. */
function allStatements(template: Template): Array<{ Action: unknown; Resource: unknown; Effect: string }> {
  const documents = [
    ...Object.values(template.findResources('AWS::IAM::Policy')).map((r) => r.Properties.PolicyDocument),
    ...Object.values(template.findResources('AWS::IAM::Role')).flatMap((r) =>
      (r.Properties.Policies ?? []).map((p: { PolicyDocument: unknown }) => p.PolicyDocument),
    ),
  ];
  return documents.flatMap((d) => d.Statement);
}

const asList = (action: unknown): string[] => (Array.isArray(action) ? action : [action]) as string[];

describe('CDK stack (aws-cdk-lib, synthesized offline)', () => {
  const template = synth();
  const tableId = onlyId(template, 'AWS::DynamoDB::Table');
  const fnId = onlyId(template, 'AWS::Lambda::Function');

  it('lease table: partition key pk (S), on demand, point-in-time recovery, retained, single-region, no TTL by default', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: Match.absent(),
        Replicas: Match.absent(),
        TableName: Match.absent(),
      },
    });
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
  });

  it('TTL and table name only when asked', () => {
    const withTtl = synth({ ttlAttribute: 'deleteAfter', tableName: 'my-leases' });
    withTtl.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'my-leases',
      TimeToLiveSpecification: { AttributeName: 'deleteAfter', Enabled: true },
      Replicas: Match.absent(),
    });
    withTtl.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { LEASE_TABLE: { Ref: onlyId(withTtl, 'AWS::DynamoDB::Table') } } } });
  });

  it('IAM: exactly one DynamoDB statement, GetItem/UpdateItem on the table ARN, attached to the function role', () => {
    const statements = allStatements(template);
    const dynamo = statements.filter((s) => asList(s.Action).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo).toHaveLength(1);
    expect(dynamo[0]?.Effect).toBe('Allow');
    expect([...asList(dynamo[0]?.Action)].sort()).toEqual(LEASE_ACTIONS);
    expect(dynamo[0]?.Resource).toEqual({ 'Fn::GetAtt': [tableId, 'Arn'] });
    expect([...LEASE_TABLE_ACTIONS].sort()).toEqual(LEASE_ACTIONS);
    for (const statement of statements) {
      for (const action of asList(statement.Action)) expect(action).not.toMatch(FORBIDDEN_ACTION);
    }
    const roleRef = template.findResources('AWS::Lambda::Function')[fnId]?.Properties.Role;
    template.hasResourceProperties('AWS::IAM::Policy', { Roles: [{ Ref: roleRef['Fn::GetAtt'][0] }] });
    // The role's only other permission is the basic execution role (CloudWatch Logs).
    const role = Object.values(template.findResources('AWS::IAM::Role'))[0];
    expect(JSON.stringify(role?.Properties.ManagedPolicyArns)).toContain('service-role/AWSLambdaBasicExecutionRole');
    expect(role?.Properties.ManagedPolicyArns).toHaveLength(1);
  });

  it('function: nodejs20.x, handler.handler, LEASE_TABLE = the table, LEASE_TABLE_REGION = its region, timeout covering the lease', () => {
    const variables = template.findResources('AWS::Lambda::Function')[fnId]?.Properties.Environment.Variables;
    expect(variables).toEqual({
      LEASE_TABLE: { Ref: tableId },
      LEASE_TABLE_REGION: { Ref: 'AWS::Region' },
      JOB_NAME: 'nightly-report',
      JOB_TTL_MS: '240000',
    });
    template.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs20.x', Handler: 'handler.handler', Timeout: 240 });
    // A stack deployed to a given region names that region: the lease table's home.
    const pinned = synth({ env: { region: 'eu-west-1' } });
    pinned.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { LEASE_TABLE_REGION: 'eu-west-1' } } });
  });

  it('the handler reads LEASE_TABLE, LEASE_TABLE_REGION, JOB_NAME and JOB_TTL_MS', async () => {
    const handler = await readFile(join(root, 'examples/lambda-scheduled/handler.ts'), 'utf8');
    for (const name of ['LEASE_TABLE', 'LEASE_TABLE_REGION', 'JOB_NAME', 'JOB_TTL_MS']) expect(handler).toContain(`process.env.${name}`);
  });

  it('EventBridge rule: the schedule, targeting the function, which lets events.amazonaws.com invoke it', () => {
    const ruleId = onlyId(template, 'AWS::Events::Rule');
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] } })],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
      SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
    });
    synth({ scheduleExpression: 'cron(0 3 * * ? *)' }).hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 3 * * ? *)' });
  });

  it('refuses a lease as long as the rate period, or longer than a Lambda can run', () => {
    expect(() => synth({ scheduleExpression: 'rate(5 minutes)', jobTtlMs: 5 * 60_000 })).toThrow(/shorter than the schedule period/);
    expect(() => synth({ scheduleExpression: 'rate(1 hour)', jobTtlMs: 16 * 60_000 })).toThrow(/Lambda's longest timeout/);
    synth({ scheduleExpression: 'rate(15 minutes)', jobTtlMs: 10 * 60_000 }).hasResourceProperties('AWS::Lambda::Function', { Timeout: 600 });
  });

  it('infra/cdk/app.ts synthesizes the same stack from a handler directory (as `cdk synth` runs it)', async () => {
    const dir = mkdtempSync(join(outRoot, 'app-ts-'));
    const assetDir = join(dir, 'handler');
    await mkdir(assetDir);
    await writeFile(join(assetDir, 'handler.cjs'), 'exports.handler = async () => {};\n');
    const out = join(dir, 'cdk.out');
    // In process, as the CDK CLI runs it (it passes the output directory and the context through these variables).
    const saved = { CDK_OUTDIR: process.env.CDK_OUTDIR, CDK_CONTEXT_JSON: process.env.CDK_CONTEXT_JSON };
    process.env.CDK_OUTDIR = out;
    process.env.CDK_CONTEXT_JSON = JSON.stringify({ assetDir, ttlAttribute: 'deleteAfter' });
    try {
      await import('../infra/cdk/app.js');
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
    const synthesized = Template.fromJSON(JSON.parse(await readFile(join(out, 'LeaseholdLambda.template.json'), 'utf8')));
    synthesized.hasResourceProperties('AWS::DynamoDB::Table', { TimeToLiveSpecification: { AttributeName: 'deleteAfter', Enabled: true } });
    synthesized.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs20.x' });
    synthesized.resourceCountIs('AWS::Events::Rule', 1);
  });
});

/** Follows a path of keys and indexes through parsed HCL (blocks are arrays of objects). */
function dig(value: unknown, ...path: Array<string | number>): unknown {
  let at = value;
  for (const key of path) at = (at as Record<string | number, unknown> | undefined)?.[key];
  return at;
}

/** A Terraform interpolation as hcl2json renders it: `ref('var.x')` is the string "${var.x}". */
const ref = (expression: string) => `\${${expression}}`;

/** Every string inside a parsed value, for "never mentions" checks. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

describe('Terraform module (parsed with @cdktf/hcl2json)', async () => {
  const dir = join(root, 'infra/terraform');
  const load = async (file: string) => parse(file, await readFile(join(dir, file), 'utf8'));
  const [main, variables, outputs] = await Promise.all([load('main.tf'), load('variables.tf'), load('outputs.tf')]);
  const resource = (type: string, name: string) => dig(main, 'resource', type, name, 0);

  it('lease table: hash key pk (S), on demand, point-in-time recovery, no replicas, TTL only via ttl_attribute', () => {
    const table = resource('aws_dynamodb_table', 'leases');
    expect(dig(table, 'hash_key')).toBe('pk');
    expect(dig(table, 'attribute')).toEqual([{ name: 'pk', type: 'S' }]);
    expect(dig(table, 'range_key')).toBeUndefined();
    expect(dig(table, 'billing_mode')).toBe('PAY_PER_REQUEST');
    expect(dig(table, 'point_in_time_recovery', 0, 'enabled')).toBe(true);
    expect(dig(table, 'replica')).toBeUndefined();
    expect(dig(table, 'ttl')).toBeUndefined();
    expect(dig(table, 'dynamic', 'ttl', 0, 'for_each')).toBe(ref('var.ttl_attribute == null ? [] : [var.ttl_attribute]'));
    expect(dig(table, 'dynamic', 'ttl', 0, 'content', 0)).toEqual({ attribute_name: ref('ttl.value'), enabled: true });
    expect(dig(variables, 'variable', 'ttl_attribute', 0, 'default')).toBeNull();
    expect(dig(outputs, 'output', 'table_arn', 0, 'value')).toBe(ref('aws_dynamodb_table.leases.arn'));
  });

  it('IAM: the role policy is exactly GetItem/UpdateItem on the table ARN, and nothing grants more', () => {
    const statements = dig(main, 'data', 'aws_iam_policy_document', 'leases', 0, 'statement') as unknown[];
    expect(statements).toHaveLength(1);
    expect(dig(statements, 0, 'effect')).toBe('Allow');
    expect([...(dig(statements, 0, 'actions') as string[])].sort()).toEqual(LEASE_ACTIONS);
    expect(dig(statements, 0, 'resources')).toEqual([ref('aws_dynamodb_table.leases.arn')]);
    expect(resource('aws_iam_role_policy', 'leases')).toMatchObject({
      role: ref('aws_iam_role.job.id'),
      policy: ref('data.aws_iam_policy_document.leases.json'),
    });
    expect(dig(resource('aws_lambda_function', 'job'), 'role')).toBe(ref('aws_iam_role.job.arn'));
    expect(dig(resource('aws_iam_role_policy_attachment', 'logs'), 'policy_arn')).toBe('arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole');
    const dynamoActions = strings(main).filter((s) => s.includes('dynamodb:'));
    expect([...dynamoActions].sort()).toEqual(LEASE_ACTIONS);
    for (const s of strings(main)) expect(s).not.toMatch(FORBIDDEN_ACTION);
  });

  it('function: nodejs20.x, handler.handler, LEASE_TABLE = the table name, LEASE_TABLE_REGION = its region, timeout covering the lease', () => {
    const fn = resource('aws_lambda_function', 'job');
    expect(dig(fn, 'runtime')).toBe('nodejs20.x');
    expect(dig(fn, 'handler')).toBe('handler.handler');
    expect(dig(fn, 'timeout')).toBe(ref('ceil(var.job_ttl_ms / 1000)'));
    expect(dig(fn, 'environment', 0, 'variables')).toEqual({
      LEASE_TABLE: ref('aws_dynamodb_table.leases.name'),
      // The region field of the table's ARN (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME).
      LEASE_TABLE_REGION: ref('split(":", aws_dynamodb_table.leases.arn)[3]'),
      JOB_NAME: ref('var.job_name'),
      JOB_TTL_MS: ref('tostring(var.job_ttl_ms)'),
    });
    // Both tools deploy the same bundle directory by default.
    expect(resolve(dir, dig(variables, 'variable', 'handler_dir', 0, 'default') as string)).toBe(DEFAULT_ASSET_DIR);
    expect(dig(variables, 'variable', 'job_ttl_ms', 0, 'default')).toBe(240_000);
  });

  it('schedule: a rule from var.schedule_expression (default rate(5 minutes)) targeting the function, with invoke permission', () => {
    expect(dig(resource('aws_cloudwatch_event_rule', 'schedule'), 'schedule_expression')).toBe(ref('var.schedule_expression'));
    expect(dig(variables, 'variable', 'schedule_expression', 0, 'default')).toBe('rate(5 minutes)');
    expect(resource('aws_cloudwatch_event_target', 'job')).toMatchObject({
      rule: ref('aws_cloudwatch_event_rule.schedule.name'),
      arn: ref('aws_lambda_function.job.arn'),
    });
    expect(resource('aws_lambda_permission', 'events')).toMatchObject({
      action: 'lambda:InvokeFunction',
      principal: 'events.amazonaws.com',
      function_name: ref('aws_lambda_function.job.function_name'),
      source_arn: ref('aws_cloudwatch_event_rule.schedule.arn'),
    });
  });
});
