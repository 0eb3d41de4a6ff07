// Deployment: packages the stack offline once, then checks the CloudFormation template it wrote (not a stale copy).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../../../functions/shared/metric-names.js';
import { metrics as runtimeMetrics } from '../../../functions/shared/runtime.js';
import { CONFIG_ARN, DECRYPTS_FOR, EXPECTED_GRANTS, EXPECTED_OPERATOR_GRANTS } from './expected-roles.js';
import { alarmMetrics, dashboardBody, dashboardMetrics, type MetricRef } from './template-metrics.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation is untyped JSON.
type Json = Record<string, any>;
const root = fileURLToPath(new URL('../../../', import.meta.url));
const FUNCTIONS = {
  lifecycle: 'LifecycleLambdaFunction',
  webhook: 'WebhookLambdaFunction',
  reconcile: 'ReconcileLambdaFunction',
} as const;
type FunctionName = keyof typeof FUNCTIONS;
const ROLES: Record<FunctionName, string> = {
  lifecycle: 'LifecycleRole',
  webhook: 'WebhookRole',
  reconcile: 'ReconcileRole',
};
const BASE_ENV = [
  'SLOT_TABLE',
  'IDEMPOTENCY_TABLE',
  'CONFIG_PARAMETER',
  'POWERTOOLS_SERVICE_NAME',
  'POWERTOOLS_METRICS_NAMESPACE',
  'NODE_OPTIONS',
];
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:slot-sync-test-alarms';
const QUEUE = { 'Fn::GetAtt': ['LifecycleEventsQueue', 'Arn'] };
const DLQ = { 'Fn::GetAtt': ['LifecycleEventsDlq', 'Arn'] };
// biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub text, as the template holds it
const REGION = '${AWS::Region}';
const RULES = ['AsgLifecycleRule', 'SpotInterruptionRule', 'RebalanceRecommendationRule', 'InstanceStateRule'];

let dir: string;
let template: Json;
let resources: Json;
let state: Json;

const ofType = (type: string): Array<[string, Json]> => Object.entries(resources).filter(([, r]) => r.Type === type);
const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
const show = (r: Json | string): string =>
  typeof r === 'string'
    ? r
    : r['Fn::GetAtt']
      ? `GetAtt:${r['Fn::GetAtt'].join('.')}`
      : r['Fn::Sub']
        ? `Sub:${r['Fn::Sub']}`
        : JSON.stringify(r);
/** A role's statements (its inline policies), or a managed policy's. */
const statementsOf = (id: string): Json[] =>
  resources[id].Properties.PolicyDocument?.Statement ??
  resources[id].Properties.Policies.flatMap((p: Json) => p.PolicyDocument.Statement);
/** action → the resources a role or managed policy grants it on (sorted), across all its statements. */
function grants(roleId: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const s of statementsOf(roleId)) {
    expect(s.Effect).toBe('Allow');
    for (const action of asList<string>(s.Action)) {
      out[action] = [...(out[action] ?? []), ...asList(s.Resource).map(show)].sort();
    }
  }
  return out;
}
const targetsOf = (arn: Json): Array<[string, Json]> =>
  ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.Targets.some((t: Json) => isDeepStrictEqual(t.Arn, arn)));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slot-sync-package-'));
  // No AWS_* variables reach the packager: it must work with no credentials (and it does inside `unshare -n`).
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  await promisify(execFile)(
    join(root, 'node_modules/.bin/serverless'),
    ['package', '--stage', 'test', '--region', 'us-east-1', '--package', dir],
    { cwd: root, env, timeout: 110_000 },
  );
  template = JSON.parse(await readFile(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
  state = JSON.parse(await readFile(join(dir, 'serverless-state.json'), 'utf8'));
  resources = template.Resources;
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('packaged functions', () => {
  it.each(Object.entries(FUNCTIONS))('%s runs nodejs22.x on arm64 inside the VPC, traced by X-Ray', (_, id) => {
    const p = resources[id].Properties;
    expect(p.Runtime).toBe('nodejs22.x');
    expect(p.Architectures).toEqual(['arm64']);
    expect(p.VpcConfig.SubnetIds.length).toBeGreaterThan(0);
    expect(p.VpcConfig.SecurityGroupIds.length).toBeGreaterThan(0);
    expect(p.TracingConfig).toEqual({ Mode: 'Active' });
  });

  it('has exactly the three functions', () => {
    expect(
      ofType('AWS::Lambda::Function')
        .map(([id]) => id)
        .sort(),
    ).toEqual(Object.values(FUNCTIONS).sort());
  });

  it.each(Object.entries(FUNCTIONS))('%s gets exactly its environment variables', (name, id) => {
    const expected = name === 'webhook' ? [...BASE_ENV, 'WEBHOOK_SECRET_PARAMETER'] : BASE_ENV;
    const vars = resources[id].Properties.Environment.Variables;
    expect(Object.keys(vars).sort()).toEqual([...expected].sort());
    expect(vars.NODE_OPTIONS).toBe('--enable-source-maps');
  });

  it('points SLOT_TABLE and IDEMPOTENCY_TABLE at the tables the stack creates', () => {
    const vars = resources.LifecycleLambdaFunction.Properties.Environment.Variables;
    expect(vars.SLOT_TABLE).toBe(resources.SlotTable.Properties.TableName);
    expect(vars.IDEMPOTENCY_TABLE).toBe(resources.IdempotencyTable.Properties.TableName);
  });

  it('keeps the webhook under the HTTP API limit and reconcile at 60 s', () => {
    expect(resources.WebhookLambdaFunction.Properties.Timeout).toBeLessThanOrEqual(29);
    expect(resources.LifecycleLambdaFunction.Properties.Timeout).toBeLessThanOrEqual(900);
    expect(resources.ReconcileLambdaFunction.Properties.Timeout).toBe(60);
  });

  it('reserves 10 lifecycle, 5 webhook and 1 reconcile executions: 16 connections per host at most, within 20', () => {
    const reserved = (id: string) => resources[id].Properties.ReservedConcurrentExecutions;
    expect([reserved(FUNCTIONS.lifecycle), reserved(FUNCTIONS.webhook), reserved(FUNCTIONS.reconcile)]).toEqual([
      10, 5, 1,
    ]);
  });

  it.each(Object.keys(FUNCTIONS))(
    'bundles %s as one minified ESM .mjs file with its source map in its own zip',
    async (name) => {
      const zip = await readFile(join(dir, `${name}.zip`));
      expect(zip.includes(`functions/${name}/handler.mjs`)).toBe(true);
      expect(zip.includes(`functions/${name}/handler.mjs.map`)).toBe(true);
      expect(resources[FUNCTIONS[name as FunctionName]].Properties.Handler).toBe(`functions/${name}/handler.handler`);
    },
  );

  it.each(Object.keys(FUNCTIONS))('maps %s stack frames to our own TypeScript files only', async (name) => {
    const { stdout } = await promisify(execFile)(
      'unzip',
      ['-p', join(dir, `${name}.zip`), `functions/${name}/handler.mjs.map`],
      {
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const map = JSON.parse(stdout) as { sources: string[] };
    expect(map.sources.length).toBeGreaterThan(10);
    // Relative to functions/<name>/ in the zip, each source is a file of this repository's functions/ tree.
    const files = map.sources.map((s) => join('functions', name, s));
    expect(
      files.filter((f) => !f.startsWith('functions/') || !f.endsWith('.ts') || f.includes('node_modules')),
    ).toEqual([]);
    await Promise.all(files.map((f) => stat(join(root, f))));
  });

  it.each(Object.keys(FUNCTIONS))(
    'keeps the %s zip within the 500 KB bundle goal, source map included',
    async (name) => {
      expect((await stat(join(dir, `${name}.zip`))).size).toBeLessThanOrEqual(500_000);
    },
  );

  it('tags the stack and, explicitly, the functions and the HTTP API', () => {
    const tags = { project: 'haproxy-slot-sync', stage: 'test' };
    expect(state.service.provider.stackTags).toEqual(tags);
    expect(resources.LifecycleLambdaFunction.Properties.Tags).toEqual(
      Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    );
    expect(resources.HttpApi.Properties.Tags).toEqual(tags);
  });
});

describe('lifecycle events: EventBridge → SQS → lifecycle', () => {
  it('routes the two lifecycle detail-types of the configured ASGs to the queue', () => {
    expect(resources.AsgLifecycleRule.Properties.EventPattern).toEqual({
      source: ['aws.autoscaling'],
      'detail-type': ['EC2 Instance-launch Lifecycle Action', 'EC2 Instance-terminate Lifecycle Action'],
      detail: { AutoScalingGroupName: ['web-asg'] },
    });
  });

  it('routes spot interruptions, rebalance recommendations and departing state changes to the same queue', () => {
    const pattern = (id: string) => resources[id].Properties.EventPattern;
    expect(pattern('SpotInterruptionRule')).toEqual({
      source: ['aws.ec2'],
      'detail-type': ['EC2 Spot Instance Interruption Warning'],
    });
    expect(pattern('RebalanceRecommendationRule')).toEqual({
      source: ['aws.ec2'],
      'detail-type': ['EC2 Instance Rebalance Recommendation'],
    });
    expect(pattern('InstanceStateRule')).toEqual({
      source: ['aws.ec2'],
      'detail-type': ['EC2 Instance State-change Notification'],
      detail: { state: ['stopping', 'shutting-down', 'stopped', 'terminated'] },
    });
  });

  it('has exactly the four rules on the queue, each with EventBridge retries and the DLQ', () => {
    expect(
      targetsOf(QUEUE)
        .map(([id]) => id)
        .sort(),
    ).toEqual([...RULES].sort());
    for (const id of RULES) {
      const [target, ...others] = resources[id].Properties.Targets;
      expect(others).toEqual([]);
      expect(target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
      expect(target.DeadLetterConfig.Arn).toEqual(DLQ);
    }
  });

  it('lets only those rules send to the queue and to the DLQ', () => {
    for (const policy of ['LifecycleEventsQueuePolicy', 'LifecycleEventsDlqPolicy']) {
      const [statement, ...others] = resources[policy].Properties.PolicyDocument.Statement;
      expect(others).toEqual([]);
      expect(statement.Principal).toEqual({ Service: 'events.amazonaws.com' });
      expect(statement.Action).toBe('sqs:SendMessage');
      expect(statement.Condition.ArnEquals['aws:SourceArn']).toEqual(
        RULES.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })),
      );
    }
  });

  it('gives the queue 6× the function timeout of visibility, SSE, and a redrive to the DLQ after 5 receives', () => {
    const q = resources.LifecycleEventsQueue.Properties;
    expect(q.VisibilityTimeout).toBe(6 * resources.LifecycleLambdaFunction.Properties.Timeout);
    expect(q.SqsManagedSseEnabled).toBe(true);
    expect(q.RedrivePolicy).toEqual({ deadLetterTargetArn: DLQ, maxReceiveCount: 5 });
    const dlq = resources.LifecycleEventsDlq.Properties;
    expect(dlq.SqsManagedSseEnabled).toBe(true);
    expect(dlq.MessageRetentionPeriod).toBeGreaterThan(q.MessageRetentionPeriod);
    expect(dlq.RedriveAllowPolicy.redrivePermission).toBe('byQueue');
    expect(dlq.RedriveAllowPolicy.sourceQueueArns[0]['Fn::Sub']).toMatch(/:haproxy-slot-sync-test-lifecycle-events$/);
  });

  it('feeds the lifecycle function in batches with partial failures, never above its reserved concurrency', () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping').map(([, r]) => r.Properties);
    expect(mappings).toHaveLength(1);
    const [m] = mappings as [Json];
    expect(m.EventSourceArn).toEqual(QUEUE);
    expect(m.FunctionName).toEqual({ 'Fn::GetAtt': ['LifecycleLambdaFunction', 'Arn'] });
    expect(m.BatchSize).toBe(10);
    expect(m.MaximumBatchingWindowInSeconds).toBe(1);
    expect(m.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(m.ScalingConfig.MaximumConcurrency).toBe(
      resources.LifecycleLambdaFunction.Properties.ReservedConcurrentExecutions,
    );
  });

  it('has no direct EventBridge trigger or async retry/destination config left on the lifecycle function', () => {
    expect(targetsOf({ 'Fn::GetAtt': ['LifecycleLambdaFunction', 'Arn'] })).toEqual([]);
    expect(ofType('AWS::Lambda::EventInvokeConfig')).toEqual([]);
  });
});

describe('other triggers', () => {
  it('serves POST /hooks/deploy from the webhook function, throttled, with access logs', () => {
    expect(ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey)).toEqual(['POST /hooks/deploy']);
    const integrations = ofType('AWS::ApiGatewayV2::Integration').map(([, r]) => r.Properties.IntegrationUri);
    expect(integrations).toEqual([{ 'Fn::GetAtt': ['WebhookLambdaFunction', 'Arn'] }]);
    const stage = resources.HttpApiStage.Properties;
    expect(stage.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 });
    expect(stage.AccessLogSettings.DestinationArn).toEqual({ 'Fn::GetAtt': ['HttpApiLogGroup', 'Arn'] });
    expect(JSON.parse(stage.AccessLogSettings.Format)).toMatchObject({ status: '$context.status' });
  });

  it('outputs the webhook URL', () => {
    expect(template.Outputs.WebhookUrl.Value).toEqual({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub text
      'Fn::Sub': 'https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/hooks/deploy',
    });
  });

  it('runs reconcile every minute', () => {
    const rules = targetsOf({ 'Fn::GetAtt': ['ReconcileLambdaFunction', 'Arn'] }).map(
      ([, r]) => r.Properties.ScheduleExpression,
    );
    expect(rules).toEqual(['rate(1 minute)']);
  });
});

describe('tables', () => {
  it('creates the slot table on demand, with PITR and deletion protection', () => {
    const p = resources.SlotTable.Properties;
    expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    expect(p.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled).toBe(true);
    expect(p.DeletionProtectionEnabled).toBe(true);
    // Only retired-member tombstones carry the attribute: they expire by themselves.
    expect(p.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  it('creates the idempotency table on demand, with TTL', () => {
    const p = resources.IdempotencyTable.Properties;
    expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    expect(p.TimeToLiveSpecification).toEqual({ AttributeName: 'expiration', Enabled: true });
  });
});

describe('IAM: one role per function', () => {
  it.each(Object.entries(FUNCTIONS))('%s runs as its own role, and no shared role exists', (name, id) => {
    expect(resources[id].Properties.Role).toEqual({ 'Fn::Sub': `\${${ROLES[name as FunctionName]}.Arn}` });
    expect(resources.IamRoleLambdaExecution).toBeUndefined();
    expect(
      ofType('AWS::IAM::Role')
        .map(([roleId]) => roleId)
        .sort(),
    ).toEqual(Object.values(ROLES).sort());
  });

  it.each(Object.keys(FUNCTIONS) as FunctionName[])('%s may only be assumed by Lambda', (name) => {
    expect(resources[ROLES[name]].Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ]);
    expect(resources[ROLES[name]].Properties.ManagedPolicyArns).toBeUndefined();
  });

  const rows = (Object.keys(EXPECTED_GRANTS) as FunctionName[]).flatMap((fn) =>
    Object.entries(EXPECTED_GRANTS[fn]).map(([action, on]) => [fn, action, [...on].sort()] as const),
  );
  it.each(rows)('%s may %s on %j', (fn, action, on) => {
    expect(grants(ROLES[fn])[action]).toEqual(on);
  });

  it.each(Object.keys(FUNCTIONS) as FunctionName[])('%s is granted nothing beyond that list', (fn) => {
    expect(Object.keys(grants(ROLES[fn])).sort()).toEqual(Object.keys(EXPECTED_GRANTS[fn]).sort());
  });

  it('never lets the internet-facing webhook complete lifecycle actions or describe instances', () => {
    const actions = Object.keys(grants(ROLES.webhook));
    expect(actions.filter((a) => a.startsWith('autoscaling:') || a === 'ec2:DescribeInstances')).toEqual([]);
  });

  it.each(Object.keys(FUNCTIONS) as FunctionName[])(
    '%s decrypts only its own parameters, and only through SSM',
    (fn) => {
      const [kms, ...others] = statementsOf(ROLES[fn]).filter((s) => asList(s.Action).includes('kms:Decrypt'));
      expect(others).toEqual([]);
      expect(kms?.Condition).toEqual({
        StringEquals: {
          'kms:ViaService': { 'Fn::Sub': `ssm.${REGION}.amazonaws.com` },
          'kms:EncryptionContext:PARAMETER_ARN': DECRYPTS_FOR[fn].map((arn) => ({
            'Fn::Sub': arn.replace(/^Sub:/, ''),
          })),
        },
      });
    },
  );
});

describe('IAM: the operator CLI', () => {
  const POLICIES = Object.keys(EXPECTED_OPERATOR_GRANTS) as (keyof typeof EXPECTED_OPERATOR_GRANTS)[];

  it('creates exactly the two operator policies, unnamed and attached to nobody (operators attach them)', () => {
    expect(
      ofType('AWS::IAM::ManagedPolicy')
        .map(([id]) => id)
        .sort(),
    ).toEqual([...POLICIES].sort());
    for (const id of POLICIES) {
      const p = resources[id].Properties;
      // A name would need CAPABILITY_NAMED_IAM and clash across stages.
      expect(p.ManagedPolicyName).toBeUndefined();
      expect([p.Users, p.Groups, p.Roles]).toEqual([undefined, undefined, undefined]);
    }
  });

  const rows = POLICIES.flatMap((id) =>
    Object.entries(EXPECTED_OPERATOR_GRANTS[id]).map(([action, on]) => [id, action, [...on].sort()] as const),
  );
  it.each(rows)('%s may %s on %j', (id, action, on) => {
    expect(grants(id)[action]).toEqual(on);
  });

  it.each(POLICIES)('%s is granted nothing beyond that list, and decrypts only the config through SSM', (id) => {
    expect(Object.keys(grants(id)).sort()).toEqual(Object.keys(EXPECTED_OPERATOR_GRANTS[id]).sort());
    const [kms, ...others] = statementsOf(id).filter((s) => asList(s.Action).includes('kms:Decrypt'));
    expect(others).toEqual([]);
    expect(kms?.Condition.StringEquals).toEqual({
      'kms:ViaService': { 'Fn::Sub': `ssm.${REGION}.amazonaws.com` },
      'kms:EncryptionContext:PARAMETER_ARN': [{ 'Fn::Sub': CONFIG_ARN.replace(/^Sub:/, '') }],
    });
  });

  it('outputs both policy ARNs', () => {
    expect(template.Outputs.OperatorReadOnlyPolicyArn.Value).toEqual({ Ref: 'OperatorReadOnlyPolicy' });
    expect(template.Outputs.OperatorPolicyArn.Value).toEqual({ Ref: 'OperatorPolicy' });
  });
});

describe('monitoring', () => {
  const alarms = () => ofType('AWS::CloudWatch::Alarm').map(([id, r]) => [id, r.Properties] as const);
  const byId = (id: string): Json => resources[id].Properties;

  it('alarms on DLQ depth, queue backlog, host failures, pass errors, dropped events and lifecycle duration near its timeout', () => {
    expect(byId('LifecycleEventsDlqDepthAlarm')).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 0,
    });
    expect(byId('LifecycleQueueAgeAlarm')).toMatchObject({ MetricName: 'ApproximateAgeOfOldestMessage' });
    expect(byId('HostFailuresAlarm')).toMatchObject({ MetricName: METRICS.hostFailures, Threshold: 0 });
    expect(byId('PassErrorsAlarm')).toMatchObject({
      MetricName: METRICS.passErrors,
      Threshold: 0,
      DatapointsToAlarm: 3,
    });
    expect(byId('DroppedEventsAlarm')).toMatchObject({ MetricName: METRICS.droppedEvents, Threshold: 0 });
    expect(byId('LifecycleDurationAlarm')).toMatchObject({
      MetricName: 'Duration',
      Threshold: 0.9 * 1000 * resources.LifecycleLambdaFunction.Properties.Timeout,
    });
  });

  it.each(['Errors', 'Throttles'])('alarms on %s of every function', (metric) => {
    const refs = alarms()
      .filter(([, a]) => a.MetricName === metric && a.Namespace === 'AWS/Lambda')
      .map(([, a]) => a.Dimensions[0].Value.Ref);
    expect(refs.sort()).toEqual(Object.values(FUNCTIONS).sort());
  });

  it('alarms when backend web has fewer free slots than its threshold', () => {
    expect(byId('FreeSlotsweb0Alarm')).toMatchObject({
      Namespace: 'HaproxySlotSync',
      MetricName: METRICS.freeSlots,
      Dimensions: [
        { Name: 'service', Value: 'haproxy-slot-sync' },
        { Name: 'backend', Value: 'web' },
      ],
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 2,
    });
  });

  it('notifies the configured topic on alarm and on recovery, with no empty actions anywhere', () => {
    for (const [, a] of alarms()) {
      expect(a.AlarmActions).toEqual([TOPIC]);
      expect(a.OKActions).toEqual([TOPIC]);
    }
    expect(template.Conditions).toBeUndefined();
  });

  const customRefs = (): MetricRef[] =>
    [...alarmMetrics(resources), ...dashboardMetrics(dashboardBody(resources.Dashboard))].filter(
      (m) => !m.namespace.startsWith('AWS/'),
    );

  it('reads only custom metrics the code emits (functions/shared/metric-names.ts)', () => {
    const known = new Set<string>(Object.values(METRICS));
    expect(customRefs().filter((m) => !known.has(m.name))).toEqual([]);
  });

  it('shows every metric the code emits on the dashboard', () => {
    const shown = new Set(dashboardMetrics(dashboardBody(resources.Dashboard)).map((m) => m.name));
    expect(Object.values(METRICS).filter((name) => !shown.has(name))).toEqual([]);
  });

  it('reads custom metrics with the namespace and dimensions Powertools emits', () => {
    // What functions/shared/runtime.ts's Metrics writes: fleet-wide metrics, and freeSlots in its own document.
    runtimeMetrics.addMetric(METRICS.hostFailures, 'Count', 0);
    const fleet = runtimeMetrics.serializeMetrics();
    runtimeMetrics.clearMetrics();
    const single = runtimeMetrics.singleMetric();
    single.addDimension('backend', 'web');
    const perBackend = single.serializeMetrics();
    const emitted = (doc: Json) => {
      const [directive] = doc._aws.CloudWatchMetrics;
      return {
        namespace: directive.Namespace,
        dimensions: Object.fromEntries(directive.Dimensions[0].map((d: string) => [d, doc[d]])),
      };
    };
    const expected = { fleet: emitted(fleet), perBackend: emitted(perBackend) };
    expect(customRefs().length).toBeGreaterThan(Object.keys(METRICS).length);
    for (const m of customRefs()) {
      const want = m.name === METRICS.freeSlots ? expected.perBackend : expected.fleet;
      expect({ name: m.name, namespace: m.namespace, dimensions: Object.keys(m.dimensions).sort() }).toEqual({
        name: m.name,
        namespace: want.namespace,
        dimensions: Object.keys(want.dimensions).sort(),
      });
      expect(m.dimensions.service).toBe(want.dimensions.service);
    }
  });

  it('charts functions and queues of this stack only', () => {
    const aws = dashboardMetrics(dashboardBody(resources.Dashboard)).filter((m) => m.namespace.startsWith('AWS/'));
    const fns = new Set(aws.filter((m) => m.namespace === 'AWS/Lambda').map((m) => m.dimensions.FunctionName));
    expect([...fns].sort()).toEqual(
      Object.values(FUNCTIONS)
        .map((id) => `<${id}>`)
        .sort(),
    );
    const queues = new Set(aws.filter((m) => m.namespace === 'AWS/SQS').map((m) => m.dimensions.QueueName));
    expect([...queues].sort()).toEqual(['<LifecycleEventsDlq.QueueName>', '<LifecycleEventsQueue.QueueName>']);
  });
});

describe('VPC egress', () => {
  it('creates endpoints for DynamoDB (gateway) and SSM, EC2, Auto Scaling (interface) when asked to', () => {
    const endpoints = ofType('AWS::EC2::VPCEndpoint').map(([, r]) => [
      r.Properties.ServiceName['Fn::Sub'],
      r.Properties.VpcEndpointType,
    ]);
    expect(endpoints.sort()).toEqual([
      [`com.amazonaws.${REGION}.autoscaling`, 'Interface'],
      [`com.amazonaws.${REGION}.dynamodb`, 'Gateway'],
      [`com.amazonaws.${REGION}.ec2`, 'Interface'],
      [`com.amazonaws.${REGION}.ssm`, 'Interface'],
    ]);
  });

  it('admits only HTTPS from the functions to the interface endpoints', () => {
    const sg = resources.VpcEndpointSecurityGroup.Properties;
    const functionGroups = resources.LifecycleLambdaFunction.Properties.VpcConfig.SecurityGroupIds;
    expect(sg.SecurityGroupIngress).toEqual(
      functionGroups.map((id: string) =>
        expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, SourceSecurityGroupId: id }),
      ),
    );
  });
});

describe('CI', () => {
  it('packages the stack and runs cfn-lint on the template in .ci/run, after npm test', async () => {
    const ci = await readFile(join(root, '.ci/run'), 'utf8');
    const lines = ci.split('\n');
    const at = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l) && !l.trimStart().startsWith('#'));
    expect(at(/^npm test$/)).toBeGreaterThan(-1);
    expect(at(/cfn-lint .*cloudformation-template-update-stack\.json/)).toBeGreaterThan(at(/^npm test$/));
    expect(at(/npm run (--silent )?package/)).toBeGreaterThan(at(/^npm test$/));
  });
});
