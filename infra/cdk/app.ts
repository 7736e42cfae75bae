/**
 * CDK app for `npm run synth` (offline, into infra/cdk/cdk.out or $CDK_OUTDIR) and `cdk synth` / `cdk deploy`
 * (`npx aws-cdk@2 deploy --app 'npx tsx app.ts'` from infra/cdk, which sets CDK_OUTDIR itself).
 * Settings come from CDK context (`-c key=value`): stackName (default LeaseholdLambda), scheduleExpression, ttlAttribute, tableName, assetDir, jobName, jobTtlMs.
 * The stack is environment-agnostic: it deploys to the CLI's account and region, which becomes the lease table's home.
 * @module
 */
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { LeaseholdLambdaStack } from './stack.js';

// The CDK CLI passes CDK_OUTDIR; run directly (npm run synth), the assembly goes to infra/cdk/cdk.out (git-ignored).
const app = new App(process.env.CDK_OUTDIR ? {} : { outdir: fileURLToPath(new URL('./cdk.out', import.meta.url)) });

/** A string context value, or `undefined` when not set. */
function context(key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined || value === null || value === '' ? undefined : String(value);
}

const jobTtlMs = context('jobTtlMs');
new LeaseholdLambdaStack(app, context('stackName') ?? 'LeaseholdLambda', {
  scheduleExpression: context('scheduleExpression'),
  ttlAttribute: context('ttlAttribute'),
  tableName: context('tableName'),
  assetDir: context('assetDir'),
  jobName: context('jobName'),
  jobTtlMs: jobTtlMs === undefined ? undefined : Number(jobTtlMs),
});

app.synth();
