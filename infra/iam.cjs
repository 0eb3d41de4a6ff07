// One execution role per function, each granting only the calls that function makes (issue 12, item 1), and two
// managed policies for the operator CLI (bin/cli): one for the checks, one for every command.
// Generated at package time because the ASG ARNs and parameter names come from the stage's params; serverless.yml
// points each function's `role:` at its resource here, so osls creates no shared IamRoleLambdaExecution.
'use strict';

const { groupArns } = require('./autoscaling.cjs');

const sub = (text) => ({ 'Fn::Sub': text });
const arn = (service, resource) =>
  sub(`arn:\${AWS::Partition}:${service}:\${AWS::Region}:\${AWS::AccountId}:${resource}`);
const allow = (Sid, Action, Resource, Condition) => ({
  Sid,
  Effect: 'Allow',
  Action,
  Resource,
  ...(Condition && { Condition }),
});

async function parameterArn(resolveVariable, param) {
  const name = await resolveVariable(`param:${param}`);
  // The ARN of "/a/b" is "…:parameter/a/b": without the leading slash it would silently name another parameter.
  if (typeof name !== 'string' || !/^\/[A-Za-z0-9_.\-/]{1,1010}$/.test(name)) {
    throw new Error(`param ${param}: an SSM parameter name starting with "/" is required, got ${JSON.stringify(name)}`);
  }
  return arn('ssm', `parameter${name}`);
}

// Statements every function needs: its own log group, X-Ray segments (active tracing), and the network interfaces
// Lambda creates in the VPC with the function's role (AWS documents Describe* as "*" only; the rest stay in-account).
function baseline(logGroupId) {
  return [
    allow('OwnLogGroup', ['logs:CreateLogStream', 'logs:PutLogEvents'], { 'Fn::GetAtt': [logGroupId, 'Arn'] }),
    allow('XRayTraceSegments', ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], '*'),
    allow('VpcDescribeNetworkInterfaces', ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'], '*'),
    allow(
      'VpcManageNetworkInterfaces',
      [
        'ec2:CreateNetworkInterface',
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ],
      arn('ec2', '*/*'),
    ),
  ];
}

// TransactWriteItems is authorised per item: Update/Put/Delete/ConditionCheck, so those are listed, not the call.
// BatchGetItem is its own action: a converge round reads its slots in one call (SlotStore.getMany).
const SLOT_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:ConditionCheckItem',
];
// What Powertools' DynamoDBPersistenceLayer calls.
const IDEMPOTENCY_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
];

// @middy/ssm (the functions) fetches with GetParameters only; the CLI reads its one parameter with GetParameter.
function readParameters(parameterArns, action = 'ssm:GetParameters') {
  return [
    allow('ReadOwnParameters', [action], parameterArns),
    // Only for a SecureString under a customer managed key (aws/ssm needs no IAM grant); the encryption context
    // ties each Decrypt to one of this function's parameters.
    allow('DecryptOwnParametersViaSsm', ['kms:Decrypt'], arn('kms', 'key/*'), {
      StringEquals: {
        'kms:ViaService': sub('ssm.${AWS::Region}.amazonaws.com'),
        // Single-valued key: a list of values means "any of these".
        'kms:EncryptionContext:PARAMETER_ARN': parameterArns,
      },
    }),
  ];
}

function role(description, statements) {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      Description: description,
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      },
      Policies: [{ PolicyName: 'least-privilege', PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
    },
  };
}

/** The three roles: LifecycleRole, WebhookRole, ReconcileRole. */
async function roles({ resolveVariable }) {
  const config = await parameterArn(resolveVariable, 'configParameter');
  const secret = await parameterArn(resolveVariable, 'webhookSecretParameter');
  const groups = await groupArns({ resolveVariable });
  const slotTable = { 'Fn::GetAtt': ['SlotTable', 'Arn'] };
  const idempotencyTable = { 'Fn::GetAtt': ['IdempotencyTable', 'Arn'] };
  // DescribeInstances and DescribeAutoScalingGroups support no resource-level permissions: "*" is the only form.
  const describeInstances = allow('DescribeInstanceAddresses', ['ec2:DescribeInstances'], '*');

  return {
    Resources: {
      LifecycleRole: role('haproxy-slot-sync lifecycle function: SQS lifecycle events -> slots, hooks completed', [
        ...baseline('LifecycleLogGroup'),
        allow('ConsumeLifecycleQueue', ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], {
          'Fn::GetAtt': ['LifecycleEventsQueue', 'Arn'],
        }),
        allow('SlotTable', SLOT_TABLE_ACTIONS, slotTable),
        allow('IdempotencyTable', IDEMPOTENCY_TABLE_ACTIONS, idempotencyTable),
        ...readParameters([config]),
        // ABANDON included: a launch with no free slot is abandoned (lifecycle.onNoSlot); IAM has no key for the result.
        allow(
          'LifecycleActionsOfMappedGroups',
          ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'],
          groups,
        ),
        describeInstances,
      ]),
      // Internet-facing: no Auto Scaling and no EC2 calls at all; members arrive with their addresses.
      WebhookRole: role('haproxy-slot-sync webhook function: POST /hooks/deploy -> slots', [
        ...baseline('WebhookLogGroup'),
        allow('SlotTable', SLOT_TABLE_ACTIONS, slotTable),
        allow('IdempotencyTable', IDEMPOTENCY_TABLE_ACTIONS, idempotencyTable),
        ...readParameters([config, secret]),
      ]),
      ReconcileRole: role('haproxy-slot-sync reconcile function: hosts and table converged every minute', [
        ...baseline('ReconcileLogGroup'),
        allow('SlotTable', SLOT_TABLE_ACTIONS, slotTable),
        ...readParameters([config]),
        // A drain or launch handed over by the lifecycle invocation: heartbeated while it waits (every
        // lifecycle.heartbeatSeconds, so the hook does not time out), completed once it is over (CONTINUE or ABANDON).
        allow(
          'LifecycleActionsOfMappedGroups',
          ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'],
          groups,
        ),
        allow('DescribeGroupsForCrossCheck', ['autoscaling:DescribeAutoScalingGroups'], '*'),
        describeInstances,
      ]),
    },
  };
}

function managedPolicy(description, statements) {
  return {
    Type: 'AWS::IAM::ManagedPolicy',
    Properties: { Description: description, PolicyDocument: { Version: '2012-10-17', Statement: statements } },
  };
}

/**
 * OperatorReadOnlyPolicy and OperatorPolicy, to attach to the users, groups or roles that run `slot-sync`: the CLI
 * calls AWS with the caller's credentials. Read-only covers the checks (a Nagios host needs no write); the other
 * covers every command: hold and enable write the table, and a reconcile pass finishes drains and handed-over launches
 * as the scheduled function does (heartbeat, complete). Unnamed, so deploying needs no CAPABILITY_NAMED_IAM.
 */
async function operatorPolicies({ resolveVariable }) {
  const config = await parameterArn(resolveVariable, 'configParameter');
  const groups = await groupArns({ resolveVariable });
  const slotTable = { 'Fn::GetAtt': ['SlotTable', 'Arn'] };
  const parameter = readParameters([config], 'ssm:GetParameter');
  return {
    Resources: {
      OperatorReadOnlyPolicy: managedPolicy(
        'haproxy-slot-sync operator CLI, checks only: status, doctor, watch, render-config, reconcile --dry-run',
        // The checks only list backends (one Query each).
        [...parameter, allow('ListSlotTable', ['dynamodb:Query'], slotTable)],
      ),
      OperatorPolicy: managedPolicy(
        'haproxy-slot-sync operator CLI, every command: drain, disable, enable, reconcile',
        [
          ...parameter,
          // What reconcile's service does in the table, and what hold and enable do to find and change a slot. No
          // ConditionCheckItem: only a claim transaction carries one, and the CLI never claims a slot.
          allow(
            'SlotTable',
            SLOT_TABLE_ACTIONS.filter((a) => a !== 'dynamodb:ConditionCheckItem'),
            slotTable,
          ),
          allow(
            'LifecycleActionsOfMappedGroups',
            ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'],
            groups,
          ),
        ],
      ),
    },
    Outputs: {
      OperatorReadOnlyPolicyArn: {
        Description: 'Attach to whoever runs the slot-sync checks (status, doctor, watch)',
        Value: { Ref: 'OperatorReadOnlyPolicy' },
      },
      OperatorPolicyArn: {
        Description: 'Attach to whoever runs every slot-sync command (drain, enable, reconcile)',
        Value: { Ref: 'OperatorPolicy' },
      },
    },
  };
}

module.exports = { roles, operatorPolicies };
