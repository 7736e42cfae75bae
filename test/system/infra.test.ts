/**
 * The infrastructure, checked offline against the stores it serves:
 * - CDK (`aws-cdk-lib/assertions`, no AWS account, no built asset): the `LeaseTable` construct, whose key comes from
 *   `DynamoDBStore.createTable()` itself and whose grant is exactly the actions the store makes, proved by recording
 *   the store's requests to DynamoDB Local; the example stack built on it; `npm run synth`.
 * - Terraform (parsed with `@cdktf/hcl2json`; Terraform itself cannot run here): every `.tf` file parses; the DynamoDB
 *   module has the store's key and the same two actions; the Firestore module a custom role with exactly the
 *   permissions the store's requests need (classified from a real request log) and no TTL policy; the Postgres module
 *   reads sql/postgres.sql (the store's own schema) and grants exactly SELECT, INSERT and UPDATE, which a role holding
 *   only those privileges proves enough on a real PostgreSQL. No grant anywhere carries a wildcard.
 * @module
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateTableCommand, DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { parse } from '@cdktf/hcl2json';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  DEFAULT_ASSET_DIR,
  LAMBDA_RUNTIME,
  LEASE_TABLE_ACTIONS,
  LeaseholdLambdaStack,
  type LeaseholdLambdaStackProps,
  LeaseTable,
  leaseTableKeys,
} from '../../infra/cdk/stack.js';
import { ManualClock } from '../../src/clock.js';
import { getLeader, release, tryLead } from '../../src/lead.js';
import { DynamoDBStore } from '../../src/stores/dynamodb/index.js';
import { DEFAULT_FIRESTORE_COLLECTION, FirestoreRestStore } from '../../src/stores/firestore-rest.js';
import { DEFAULT_POSTGRES_TABLE, PostgresStore } from '../../src/stores/postgres/index.js';
import { withFaults } from '../../src/testing/faults.js';
import { localClient } from '../support/engines.js';
import { startFirestoreRestServer } from '../support/firestore-rest-server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const LEASE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:UpdateItem'];
/** Actions the function must never get: wildcards, and the reads and deletes leasehold does not make. */
const FORBIDDEN_ACTION = /^(\*|dynamodb:\*|dynamodb:(Scan|Query|DeleteItem|Batch\w*|PartiQL\w*|DeleteTable|\w*\*))$/;
/** Any wildcard in an action, permission or privilege. */
const WILDCARD = /\*|^ALL( PRIVILEGES)?$/i;

// Synthesis writes a cloud assembly; keep them all under one directory removed at the end (else each lands in /tmp).
const outRoot = mkdtempSync(join(tmpdir(), 'leasehold-cdk-'));
afterAll(() => rmSync(outRoot, { recursive: true, force: true }));
const newApp = () => new App({ outdir: mkdtempSync(join(outRoot, 'app-')) });

const inlineCode = () => lambda.Code.fromInline('exports.handler=async()=>{}');
const synth = (props: LeaseholdLambdaStackProps = {}) => Template.fromStack(new LeaseholdLambdaStack(newApp(), 'Test', { code: inlineCode(), ...props }));

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

describe('LeaseTable (CDK construct): the table the DynamoDB store expects, and a grant of exactly what it uses', () => {
  const leaseStack = (props: ConstructorParameters<typeof LeaseTable>[2] = {}) => {
    const stack = new Stack(newApp(), 'Leases');
    const table = new LeaseTable(stack, 'Leases', props);
    const role = new iam.Role(stack, 'Worker', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    table.grantLeases(role);
    return { template: Template.fromStack(stack), table };
  };

  it('takes its key from DynamoDBStore.createTable() (partition key pk, type S, by default) and honours the same options', () => {
    expect(leaseTableKeys()).toEqual({ partitionKey: { name: 'pk', type: 'S' } });
    expect(leaseTableKeys({ partitionKey: 'PK', sortKey: { name: 'SK', value: 'lease' } })).toEqual({
      partitionKey: { name: 'PK', type: 'S' },
      sortKey: { name: 'SK', type: 'S' },
    });
    const { template } = leaseStack({ partitionKey: 'PK', sortKey: { name: 'SK', value: 'lease' }, ttlAttribute: 'deleteAfter', tableName: 'app-table' });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'app-table',
      KeySchema: [
        { AttributeName: 'PK', KeyType: 'HASH' },
        { AttributeName: 'SK', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'deleteAfter', Enabled: true },
    });
    // The store's own checks refuse what the store would refuse.
    expect(() => leaseStack({ partitionKey: '' })).toThrowError(expect.objectContaining({ code: 'INVALID_STORE' }));
    expect(() => leaseStack({ partitionKey: 'pk', ttlAttribute: 'pk' })).toThrowError(expect.objectContaining({ code: 'INVALID_STORE' }));
  });

  it('grantLeases: one statement, exactly GetItem and UpdateItem on the table ARN, no wildcard', () => {
    const { template } = leaseStack();
    const tableId = onlyId(template, 'AWS::DynamoDB::Table');
    const statements = allStatements(template);
    expect(statements).toHaveLength(1);
    expect(statements[0]?.Effect).toBe('Allow');
    expect([...asList(statements[0]?.Action)].sort()).toEqual(LEASE_ACTIONS);
    expect(statements[0]?.Resource).toEqual({ 'Fn::GetAtt': [tableId, 'Arn'] });
    expect([...LEASE_TABLE_ACTIONS].sort()).toEqual(LEASE_ACTIONS);
    for (const s of statements)
      for (const a of [...asList(s.Action), ...asList(s.Resource).filter((r) => typeof r === 'string')]) expect(a).not.toMatch(WILDCARD);
  });

  it('on DynamoDB Local: a table made from the synthesized key is one the default store accepts (checkTable) and leads on', async () => {
    const { template } = leaseStack();
    const props = Object.values(template.findResources('AWS::DynamoDB::Table'))[0]?.Properties;
    const client = localClient(inject('dynamodbEndpoint'));
    const table = `lease-table-construct-${process.pid}`;
    try {
      await client.send(
        new CreateTableCommand({
          TableName: table,
          KeySchema: props.KeySchema,
          AttributeDefinitions: props.AttributeDefinitions,
          BillingMode: props.BillingMode,
        }),
      );
      const store = new DynamoDBStore({ client, table });
      await store.checkTable();
      expect(await tryLead(store, { name: 'construct', holder: 'a', ttlMs: 10_000 })).toMatchObject({ isLeader: true });
      expect(await release(store, { name: 'construct', holder: 'a' })).toBe(true);
    } finally {
      await client.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
      client.destroy();
    }
  });

  it('on DynamoDB Local: every request the store makes at run time (claim, renewals warm and cold, refusal, takeover, release, getLeader, read-back after a lost answer) is a granted action', async () => {
    const client = localClient(inject('dynamodbEndpoint'));
    const table = `lease-actions-${process.pid}`;
    const actions = new Set<string>();
    try {
      await new DynamoDBStore({ client, table }).createTable();
      client.middlewareStack.add(
        (next, context) => (args) => {
          actions.add(`dynamodb:${String(context.commandName).replace(/Command$/, '')}`);
          return next(args);
        },
        { step: 'initialize', name: 'recordActions' },
      );
      const clock = new ManualClock();
      const store = withFaults(new DynamoDBStore({ client, table }));
      const lead = (holder: string, s = store) => tryLead(s, { name: 'actions', holder, ttlMs: 10_000, clock });
      expect(await lead('a')).toMatchObject({ isLeader: true });
      expect(await lead('a')).toMatchObject({ isLeader: true });
      expect(await lead('a', withFaults(new DynamoDBStore({ client, table })))).toMatchObject({ isLeader: true });
      expect(await lead('b')).toMatchObject({ isLeader: false });
      clock.advance(12_000);
      store.failNextWrite('lose-answer');
      expect(await lead('b')).toMatchObject({ isLeader: true });
      expect(await getLeader(store, 'actions', { clock })).toMatchObject({ holder: 'b' });
      expect(await release(store, { name: 'actions', holder: 'b', clock })).toBe(true);
      expect([...actions].sort()).toEqual(LEASE_ACTIONS);
    } finally {
      await client.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
      client.destroy();
    }
  });
});

describe('CDK stack (aws-cdk-lib, synthesized offline)', () => {
  const template = synth();
  const tableId = onlyId(template, 'AWS::DynamoDB::Table');
  const fnId = onlyId(template, 'AWS::Lambda::Function');

  it('lease table (a LeaseTable): partition key pk (S), on demand, point-in-time recovery, retained, single-region, no TTL by default', () => {
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
    for (const statement of statements) {
      for (const action of asList(statement.Action)) {
        expect(action).not.toMatch(FORBIDDEN_ACTION);
        expect(action).not.toMatch(WILDCARD);
      }
    }
    const roleRef = template.findResources('AWS::Lambda::Function')[fnId]?.Properties.Role;
    template.hasResourceProperties('AWS::IAM::Policy', { Roles: [{ Ref: roleRef['Fn::GetAtt'][0] }] });
    // The role's only other permission is the basic execution role (CloudWatch Logs).
    const role = Object.values(template.findResources('AWS::IAM::Role'))[0];
    expect(JSON.stringify(role?.Properties.ManagedPolicyArns)).toContain('service-role/AWSLambdaBasicExecutionRole');
    expect(role?.Properties.ManagedPolicyArns).toHaveLength(1);
  });

  it('function: nodejs22.x, handler.handler, LEASE_TABLE = the table, LEASE_TABLE_REGION = its region, timeout covering the lease', () => {
    const variables = template.findResources('AWS::Lambda::Function')[fnId]?.Properties.Environment.Variables;
    expect(variables).toEqual({
      LEASE_TABLE: { Ref: tableId },
      LEASE_TABLE_REGION: { Ref: 'AWS::Region' },
      JOB_NAME: 'nightly-report',
      JOB_TTL_MS: '240000',
    });
    expect(LAMBDA_RUNTIME.name).toBe('nodejs22.x');
    template.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs22.x', Handler: 'handler.handler', Timeout: 240 });
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
      await import('../../infra/cdk/app.js');
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
    const synthesized = Template.fromJSON(JSON.parse(await readFile(join(out, 'LeaseholdLambda.template.json'), 'utf8')));
    synthesized.hasResourceProperties('AWS::DynamoDB::Table', { TimeToLiveSpecification: { AttributeName: 'deleteAfter', Enabled: true } });
    synthesized.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs22.x' });
    synthesized.resourceCountIs('AWS::Events::Rule', 1);
  });

  it('`npm run synth` bundles the handler and synthesizes offline into $CDK_OUTDIR', async () => {
    const out = join(mkdtempSync(join(outRoot, 'npm-synth-')), 'cdk.out');
    await promisify(execFile)('npm', ['run', '--silent', 'synth'], {
      cwd: root,
      env: { ...process.env, CDK_OUTDIR: out, NODE_NO_WARNINGS: '1' },
      timeout: 120_000,
    });
    const synthesized = Template.fromJSON(JSON.parse(await readFile(join(out, 'LeaseholdLambda.template.json'), 'utf8')));
    synthesized.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs22.x', Handler: 'handler.handler' });
    // The bundled handler is the asset: one file, leasehold and the SDK inside.
    const assets = readdirSync(out).filter((f) => f.startsWith('asset.'));
    expect(assets).toHaveLength(1);
    expect(readdirSync(join(out, assets[0] as string))).toEqual(['handler.cjs']);
  }, 120_000);
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

const terraformRoot = join(root, 'infra/terraform');
/** Parses every `.tf` file of a module directory, merged the way Terraform merges a module's files. */
async function loadModule(name: string): Promise<{ main: unknown; variables: unknown; outputs: unknown; all: unknown[] }> {
  const dir = join(terraformRoot, name);
  const files = readdirSync(dir).filter((f) => f.endsWith('.tf'));
  const parsed = Object.fromEntries(
    await Promise.all(files.map(async (f) => [f, await parse(join('infra/terraform', name, f), await readFile(join(dir, f), 'utf8'))])),
  );
  return { main: parsed['main.tf'], variables: parsed['variables.tf'], outputs: parsed['outputs.tf'], all: Object.values(parsed) };
}

describe('Terraform: every module parses (@cdktf/hcl2json), and no grant carries a wildcard', () => {
  const modules = readdirSync(terraformRoot, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== 'dist' && !e.name.startsWith('.'));

  it('modules for DynamoDB, Firestore and Postgres, each with main.tf, variables.tf and outputs.tf', () => {
    expect(modules.map((m) => m.name).sort()).toEqual(['dynamodb', 'firestore', 'postgres']);
    for (const m of modules)
      expect(
        readdirSync(join(terraformRoot, m.name))
          .filter((f) => f.endsWith('.tf'))
          .sort(),
        m.name,
      ).toEqual(['main.tf', 'outputs.tf', 'variables.tf']);
  });

  it('every action, permission and privilege is named: no *, no ALL, no owner/editor roles', async () => {
    for (const m of modules) {
      const { all } = await loadModule(m.name);
      const grants = strings(all).filter((x) =>
        /^(dynamodb|iam|s3|lambda|events|logs|sts):|^datastore\.|^roles\/|^(SELECT|INSERT|UPDATE|DELETE|TRUNCATE|USAGE|ALL)\b/.test(x),
      );
      expect(grants.length, m.name).toBeGreaterThan(0);
      for (const g of grants) expect(g, m.name).not.toMatch(WILDCARD);
      for (const x of strings(all)) expect(x, m.name).not.toMatch(/^roles\/(owner|editor|datastore\.owner|datastore\.user)$/);
    }
  });
});

describe('Terraform module: dynamodb (the scheduled Lambda and its lease table)', async () => {
  const { main, variables, outputs } = await loadModule('dynamodb');
  const resource = (type: string, name: string) => dig(main, 'resource', type, name, 0);

  it('lease table: the store’s key (the same as LeaseTable’s), on demand, point-in-time recovery, no replicas, TTL only via ttl_attribute', () => {
    const table = resource('aws_dynamodb_table', 'leases');
    const keys = leaseTableKeys();
    expect(dig(table, 'hash_key')).toBe(keys.partitionKey.name);
    expect(dig(table, 'attribute')).toEqual([{ name: keys.partitionKey.name, type: keys.partitionKey.type }]);
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

  it('IAM: the role policy is exactly GetItem/UpdateItem on the table ARN (LEASE_TABLE_ACTIONS), and nothing grants more', () => {
    const statements = dig(main, 'data', 'aws_iam_policy_document', 'leases', 0, 'statement') as unknown[];
    expect(statements).toHaveLength(1);
    expect(dig(statements, 0, 'effect')).toBe('Allow');
    expect([...(dig(statements, 0, 'actions') as string[])].sort()).toEqual([...LEASE_TABLE_ACTIONS].sort());
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

  it('function: runtime var.lambda_runtime (default nodejs22.x, as the CDK stack), handler.handler, LEASE_TABLE = the table name, LEASE_TABLE_REGION = its region, timeout covering the lease', () => {
    const fn = resource('aws_lambda_function', 'job');
    expect(dig(fn, 'runtime')).toBe(ref('var.lambda_runtime'));
    expect(dig(variables, 'variable', 'lambda_runtime', 0, 'default')).toBe(LAMBDA_RUNTIME.name);
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
    expect(resolve(terraformRoot, 'dynamodb', dig(variables, 'variable', 'handler_dir', 0, 'default') as string)).toBe(DEFAULT_ASSET_DIR);
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

describe('Terraform module: firestore (database, service account, minimal role)', async () => {
  const { main, variables, outputs } = await loadModule('firestore');
  const resource = (type: string, name: string) => dig(main, 'resource', type, name, 0);
  const role = resource('google_project_iam_custom_role', 'leases');

  /** The permission Firestore checks for each request the REST store sends (docs/firestore.md, "Required IAM role"). */
  const permissionFor = (path: string, body: unknown): string => {
    if (path.endsWith(':batchGet')) return 'datastore.entities.get';
    if (path.endsWith(':commit')) {
      const writes = (body as { writes: { currentDocument?: { exists?: boolean; updateTime?: string } }[] }).writes;
      expect(writes).toHaveLength(1);
      const pre = writes[0]?.currentDocument;
      if (pre?.exists === false) return 'datastore.entities.create';
      if (pre?.updateTime !== undefined || pre?.exists === true) return 'datastore.entities.update';
    }
    throw new Error(`a request the role does not cover: ${path} ${JSON.stringify(body)}`);
  };

  it('the custom role holds exactly the permissions of the requests the store makes (claim, renewals warm and cold, refusal, takeover, release, getLeader), on the stores’ default database', async () => {
    const fake = await startFirestoreRestServer({ projectId: 'demo-infra', staticTokens: ['t'] });
    try {
      const clock = new ManualClock();
      const make = () => new FirestoreRestStore({ projectId: 'demo-infra', baseUrl: fake.url, getAccessToken: () => 't', clock });
      const store = make();
      const lead = (holder: string, s = store) => tryLead(s, { name: 'perm', holder, ttlMs: 10_000, clock });
      expect(await lead('a')).toMatchObject({ isLeader: true });
      expect(await lead('a')).toMatchObject({ isLeader: true });
      expect(await lead('a', make())).toMatchObject({ isLeader: true });
      expect(await lead('b')).toMatchObject({ isLeader: false });
      fake.advanceClock(11_000);
      clock.advance(11_000);
      expect(await lead('b')).toMatchObject({ isLeader: true });
      expect(await getLeader(store, 'perm', { clock })).toMatchObject({ holder: 'b' });
      expect(await release(make(), { name: 'perm', holder: 'b', clock })).toBe(true);
      const used = new Set(fake.requests.map((r) => permissionFor(r.path, r.body)));
      expect([...used].sort()).toEqual([...(dig(role, 'permissions') as string[])].sort());
      // The stores' defaults: the "(default)" database and the leasehold_leases collection, as the module's defaults.
      const database = dig(variables, 'variable', 'database_id', 0, 'default');
      const collection = dig(variables, 'variable', 'collection', 0, 'default');
      expect(collection).toBe(DEFAULT_FIRESTORE_COLLECTION);
      for (const r of fake.requests) expect(r.path).toContain(`/databases/${database}/documents:`);
      expect(fake.requests.some((r) => JSON.stringify(r.body).includes(`/documents/${collection}/perm`))).toBe(true);
    } finally {
      await fake.close();
    }
  });

  it('a Native-mode database kept on destroy, and no TTL policy anywhere (a deleted lease would restart its token)', async () => {
    const db = resource('google_firestore_database', 'leases');
    expect(db).toMatchObject({
      type: 'FIRESTORE_NATIVE',
      name: ref('var.database_id'),
      delete_protection_state: 'DELETE_PROTECTION_ENABLED',
      deletion_policy: 'ABANDON',
    });
    expect(dig(main, 'resource', 'google_firestore_field')).toBeUndefined();
    for (const x of strings(main)) expect(x).not.toMatch(/ttl/i);
    expect(await readFile(join(terraformRoot, 'firestore', 'main.tf'), 'utf8')).not.toMatch(/^\s*ttl_config\b/m);
    expect(dig(outputs, 'output', 'collection', 0, 'value')).toBe(ref('var.collection'));
  });

  it('the service account gets the custom role only, on this database only (an IAM condition)', () => {
    const member = resource('google_project_iam_member', 'leases');
    expect(member).toMatchObject({
      role: ref('google_project_iam_custom_role.leases.id'),
      member: `serviceAccount:${ref('google_service_account.leases.email')}`,
    });
    expect(dig(member, 'condition', 0, 'expression')).toBe(
      `resource.name == "projects/${ref('var.project_id')}/databases/${ref('google_firestore_database.leases.name')}"`,
    );
    expect(Object.keys(dig(main, 'resource', 'google_project_iam_member') as object)).toEqual(['leases']);
    expect(dig(main, 'resource', 'google_project_iam_binding')).toBeUndefined();
  });
});

describe('Terraform module: postgres (the store’s schema, a role with exactly SELECT, INSERT, UPDATE)', async () => {
  const { main, outputs } = await loadModule('postgres');
  const resource = (type: string, name: string) => dig(main, 'resource', type, name, 0);
  const sqlFile = join(root, 'sql/postgres.sql');
  const grant = resource('postgresql_grant', 'leases');

  it('applies sql/postgres.sql through file() (the store’s own schema, not a copy), whose table is the store’s default', async () => {
    const [command, ...more] = dig(resource('postgresql_script', 'schema'), 'commands') as string[];
    expect(more).toEqual([]);
    const reference = /\$\{file\("\$\{path\.module\}\/([^"]+)"\)\}/.exec(command ?? '');
    expect(reference, command).not.toBeNull();
    expect(resolve(terraformRoot, 'postgres', reference?.[1] ?? '')).toBe(sqlFile);
    // No copy of the schema in the module.
    for (const x of strings(main)) expect(x).not.toMatch(/CREATE TABLE/i);
    const sql = await readFile(sqlFile, 'utf8');
    expect(/CREATE TABLE IF NOT EXISTS "([^"]+)"/.exec(sql)?.[1]).toBe(DEFAULT_POSTGRES_TABLE);
    expect(dig(main, 'locals', 0, 'table')).toBe(DEFAULT_POSTGRES_TABLE);
    expect(dig(outputs, 'output', 'table', 0, 'value')).toBe(`${ref('var.schema')}.${ref('local.table')}`);
  });

  it('grants exactly SELECT, INSERT and UPDATE on that table, and USAGE on its schema; nothing else', () => {
    expect(grant).toMatchObject({ object_type: 'table', objects: [ref('local.table')], role: ref('postgresql_role.app.name'), schema: ref('var.schema') });
    expect([...(dig(grant, 'privileges') as string[])].sort()).toEqual(['INSERT', 'SELECT', 'UPDATE']);
    expect(resource('postgresql_grant', 'schema_usage')).toMatchObject({ object_type: 'schema', privileges: ['USAGE'] });
    expect(Object.keys(dig(main, 'resource', 'postgresql_grant') as object).sort()).toEqual(['leases', 'schema_usage']);
    expect(resource('postgresql_role', 'app')).toMatchObject({ login: true });
    expect(dig(resource('postgresql_role', 'app'), 'superuser')).toBeUndefined();
  });

  it('on a real PostgreSQL: a role holding only those privileges runs the store (claim, renewal, refusal, takeover, release, getLeader), and cannot DELETE', async () => {
    const admin = new pg.Client({ connectionString: inject('databaseUrl') });
    await admin.connect();
    const schema = `infra_${process.pid}`;
    const roleName = `leasehold_app_${process.pid}`;
    let app: pg.Client | undefined;
    try {
      await admin.query(`CREATE SCHEMA "${schema}"`);
      // What the module runs: its one command, with sql/postgres.sql in place of file().
      await admin.query(`SET search_path TO "${schema}";\n${await readFile(sqlFile, 'utf8')}`);
      await admin.query('RESET search_path');
      await admin.query(`CREATE ROLE "${roleName}" LOGIN`);
      await admin.query(`GRANT USAGE ON SCHEMA "${schema}" TO "${roleName}"`);
      await admin.query(`GRANT ${(dig(grant, 'privileges') as string[]).join(', ')} ON "${schema}"."${DEFAULT_POSTGRES_TABLE}" TO "${roleName}"`);
      const url = new URL(inject('databaseUrl'));
      url.username = roleName;
      url.password = '';
      app = new pg.Client({ connectionString: url.toString() });
      await app.connect();
      const store = new PostgresStore({ pool: app, schema });
      const clock = new ManualClock();
      const lead = (holder: string) => tryLead(store, { name: 'infra', holder, ttlMs: 10_000, clock });
      expect(await lead('a')).toMatchObject({ isLeader: true, token: 1 });
      expect(await lead('a')).toMatchObject({ isLeader: true, token: 1 });
      expect(await lead('b')).toMatchObject({ isLeader: false, leader: 'a' });
      // The server's clock judges expiry: age the lease there (as an operator could), then take it over.
      await admin.query(`UPDATE "${schema}"."${DEFAULT_POSTGRES_TABLE}" SET expires_at = now() - interval '1 second' WHERE name = 'infra'`);
      expect(await lead('b')).toMatchObject({ isLeader: true, token: 2 });
      expect(await getLeader(store, 'infra')).toMatchObject({ holder: 'b', token: 2 });
      expect(await release(store, { name: 'infra', holder: 'b', clock })).toBe(true);
      await expect(app.query(`DELETE FROM "${schema}"."${DEFAULT_POSTGRES_TABLE}"`)).rejects.toMatchObject({ code: '42501' });
    } finally {
      await app?.end();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.query(`DROP ROLE IF EXISTS "${roleName}"`);
      await admin.end();
    }
  });
});
