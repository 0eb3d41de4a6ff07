// How events reach the lifecycle function (issues 10 and 14): EventBridge rules → one SQS queue → the function's
// event source mapping (batches, partial failures) → after `lifecycleMaxReceiveCount` failed receives, the DLQ.
// Generated at package time: the visibility timeout follows the function's timeout and the ASG filter the params.
'use strict';

const { groupNames } = require('./autoscaling.cjs');
const { functionTimeout, intParam } = require('./params.cjs');

// AWS's guidance for SQS event sources: a visibility timeout of six times the function timeout, so a batch that
// is retried after throttling is not redelivered while an earlier attempt still runs.
const VISIBILITY_FACTOR = 6;
const SQS_MAX_VISIBILITY_SECONDS = 43_200;
const FOUR_DAYS = 345_600;
// The DLQ keeps messages longer than the source queue: SQS keeps the original enqueue time when it moves one.
const FOURTEEN_DAYS = 1_209_600;

/** The state changes that mean an instance is leaving (EventBridge's `state` filter; there is no ASG field). */
const DEPARTING_STATES = ['stopping', 'shutting-down', 'stopped', 'terminated'];

const getAtt = (id, attribute) => ({ 'Fn::GetAtt': [id, attribute] });

/** The rules: logical id → [rule name suffix, description, event pattern]. */
function rulePatterns(asgNames) {
  return {
    AsgLifecycleRule: [
      'asg-lifecycle',
      'Launch/terminate lifecycle actions of the mapped ASGs',
      {
        source: ['aws.autoscaling'],
        'detail-type': ['EC2 Instance-launch Lifecycle Action', 'EC2 Instance-terminate Lifecycle Action'],
        detail: { AutoScalingGroupName: asgNames },
      },
    ],
    // EC2 events name the instance only (no group, no tags to match): the function ignores instances with no slot.
    SpotInterruptionRule: [
      'spot-interruption',
      'Spot interruption warnings (any instance: EventBridge cannot filter these by ASG)',
      { source: ['aws.ec2'], 'detail-type': ['EC2 Spot Instance Interruption Warning'] },
    ],
    RebalanceRecommendationRule: [
      'rebalance',
      'Rebalance recommendations (any instance: EventBridge cannot filter these by ASG)',
      { source: ['aws.ec2'], 'detail-type': ['EC2 Instance Rebalance Recommendation'] },
    ],
    InstanceStateRule: [
      'instance-state',
      'Instances stopping or terminating (any instance: EventBridge cannot filter these by ASG)',
      {
        source: ['aws.ec2'],
        'detail-type': ['EC2 Instance State-change Notification'],
        detail: { state: DEPARTING_STATES },
      },
    ],
  };
}

function sendFromRules(sid, queueId, ruleIds) {
  return {
    Type: 'AWS::SQS::QueuePolicy',
    Properties: {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: sid,
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Resource: getAtt(queueId, 'Arn'),
            // Only this stack's rules, not any rule in the account.
            Condition: { ArnEquals: { 'aws:SourceArn': ruleIds.map((id) => getAtt(id, 'Arn')) } },
          },
        ],
      },
    },
  };
}

/** Queue, DLQ, their policies and the four rules. */
async function lifecycleEvents({ resolveVariable }) {
  const service = await resolveVariable('self:service');
  const stage = await resolveVariable('sls:stage');
  const asgNames = await groupNames(resolveVariable);
  const maxReceiveCount = await intParam(resolveVariable, 'lifecycleMaxReceiveCount', 1, 1000);
  const timeout = await functionTimeout(resolveVariable, 'lifecycle');
  const visibility = VISIBILITY_FACTOR * timeout;
  if (visibility > SQS_MAX_VISIBILITY_SECONDS) {
    throw new Error(
      `functions.lifecycle.timeout ${timeout}: ${VISIBILITY_FACTOR}× must fit SQS's 12 h visibility limit`,
    );
  }
  const queueName = `${service}-${stage}-lifecycle-events`;
  const queueArn = { 'Fn::Sub': `arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:${queueName}` };

  const Resources = {
    LifecycleEventsQueue: {
      Type: 'AWS::SQS::Queue',
      // Events in flight are worthless once the stack is gone; reconcile is the source of truth.
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
      Properties: {
        QueueName: queueName,
        VisibilityTimeout: visibility,
        MessageRetentionPeriod: FOUR_DAYS,
        SqsManagedSseEnabled: true,
        RedrivePolicy: { deadLetterTargetArn: getAtt('LifecycleEventsDlq', 'Arn'), maxReceiveCount },
      },
    },
    // Same logical id and name as before the queue existed, so an update keeps the DLQ and what is in it.
    LifecycleEventsDlq: {
      Type: 'AWS::SQS::Queue',
      DeletionPolicy: 'Delete',
      // A replacement (a renamed stage or service) keeps the old DLQ and the failed events in it for inspection.
      UpdateReplacePolicy: 'Retain',
      Properties: {
        QueueName: `${service}-${stage}-lifecycle-dlq`,
        MessageRetentionPeriod: FOURTEEN_DAYS,
        SqsManagedSseEnabled: true,
        // Built from the name, not GetAtt: the queue's RedrivePolicy already references this queue.
        RedriveAllowPolicy: { redrivePermission: 'byQueue', sourceQueueArns: [queueArn] },
      },
    },
  };
  const rules = rulePatterns(asgNames);
  for (const [id, [suffix, description, pattern]] of Object.entries(rules)) {
    Resources[id] = {
      Type: 'AWS::Events::Rule',
      Properties: {
        Name: `${service}-${stage}-${suffix}`,
        Description: description,
        State: 'ENABLED',
        EventPattern: pattern,
        Targets: [
          {
            Id: 'lifecycle-events-queue',
            Arn: getAtt('LifecycleEventsQueue', 'Arn'),
            // EventBridge's own delivery retries; what it cannot deliver lands in the DLQ with the rest.
            RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 10 },
            DeadLetterConfig: { Arn: getAtt('LifecycleEventsDlq', 'Arn') },
          },
        ],
      },
    };
  }
  const ruleIds = Object.keys(rules);
  Resources.LifecycleEventsQueuePolicy = sendFromRules('LifecycleRulesSend', 'LifecycleEventsQueue', ruleIds);
  Resources.LifecycleEventsDlqPolicy = sendFromRules('LifecycleRulesDeadLetters', 'LifecycleEventsDlq', ruleIds);

  return {
    Resources,
    Outputs: {
      LifecycleEventsQueueUrl: { Value: { Ref: 'LifecycleEventsQueue' } },
      LifecycleEventsDlqUrl: { Value: { Ref: 'LifecycleEventsDlq' } },
    },
  };
}

module.exports = { DEPARTING_STATES, lifecycleEvents };
