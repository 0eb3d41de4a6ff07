// Alarms and the dashboard (issue 12, items 2 and 7), generated at package time: per-backend free-slot alarms come
// from `freeSlotAlarms`, alarm actions exist only when `alarmTopicArn` names a topic (no empty-string actions).
// Custom metric names must be keys of METRICS in functions/shared/metric-names.ts (test/unit/infra checks it).
'use strict';

const { functionTimeout, listParam } = require('./params.cjs');

/** What Powertools emits (functions/shared/runtime.ts): one namespace, the `service` dimension on every metric. */
const NAMESPACE = 'HaproxySlotSync';
const SERVICE = 'haproxy-slot-sync';
const FUNCTIONS = {
  lifecycle: 'LifecycleLambdaFunction',
  webhook: 'WebhookLambdaFunction',
  reconcile: 'ReconcileLambdaFunction',
};
const BACKEND = /^[A-Za-z0-9._:-]{1,100}$/;
const TOPIC = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

const serviceDimension = [{ Name: 'service', Value: SERVICE }];
const custom = (MetricName, extra = []) => ({
  Namespace: NAMESPACE,
  MetricName,
  Dimensions: [...serviceDimension, ...extra],
});
const lambda = (MetricName, fn) => ({
  Namespace: 'AWS/Lambda',
  MetricName,
  Dimensions: [{ Name: 'FunctionName', Value: { Ref: FUNCTIONS[fn] } }],
});
const queue = (MetricName, queueId) => ({
  Namespace: 'AWS/SQS',
  MetricName,
  Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
});
const capital = (s) => s[0].toUpperCase() + s.slice(1);

async function alarmTopic(resolveVariable) {
  const topic = await resolveVariable('param:alarmTopicArn');
  if (topic === undefined || topic === null || topic === '') return undefined;
  if (typeof topic !== 'string' || !TOPIC.test(topic))
    throw new Error(`param alarmTopicArn: an SNS topic ARN or '' is required, got ${JSON.stringify(topic)}`);
  return topic;
}

async function freeSlotAlarms(resolveVariable) {
  const list = await listParam(resolveVariable, 'freeSlotAlarms');
  const seen = new Set();
  return list.map((entry, i) => {
    const { backend, threshold } = entry ?? {};
    if (typeof backend !== 'string' || !BACKEND.test(backend) || seen.has(backend)) {
      throw new Error(`param freeSlotAlarms[${i}].backend: a backend name from the config document, once, is required`);
    }
    if (!Number.isInteger(threshold) || threshold < 1)
      throw new Error(`param freeSlotAlarms[${i}].threshold: an integer ≥ 1 is required`);
    seen.add(backend);
    return { backend, threshold };
  });
}

/** The alarms, logical id → properties (without name and actions). */
function alarmSpecs({ freeSlots, lifecycleTimeout }) {
  const overZero = { ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, TreatMissingData: 'notBreaching' };
  const specs = {
    LifecycleEventsDlqDepthAlarm: {
      name: 'lifecycle-dlq-not-empty',
      AlarmDescription:
        'Lifecycle events that EventBridge could not deliver or the function failed maxReceiveCount times; reconcile repairs slots, but hooks may have timed out.',
      ...queue('ApproximateNumberOfMessagesVisible', 'LifecycleEventsDlq'),
      Statistic: 'Maximum',
      Period: 300,
      EvaluationPeriods: 1,
      ...overZero,
    },
    LifecycleQueueAgeAlarm: {
      name: 'lifecycle-queue-backlog',
      AlarmDescription:
        'Lifecycle events wait more than 5 minutes in the queue: hooks may time out before they are handled.',
      ...queue('ApproximateAgeOfOldestMessage', 'LifecycleEventsQueue'),
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 300,
      TreatMissingData: 'notBreaching',
    },
    HostFailuresAlarm: {
      name: 'host-failures',
      AlarmDescription: 'HAProxy hosts could not be observed or programmed in 3 of the last 5 minutes (hostFailures).',
      ...custom('hostFailures'),
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      ...overZero,
    },
    PassErrorsAlarm: {
      name: 'pass-errors',
      AlarmDescription:
        'A reconcile pass could not carry out a transition or an owed lifecycle completion (passErrors), e.g. AWS refusing CompleteLifecycleAction; see its log.',
      ...custom('passErrors'),
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      ...overZero,
    },
    DroppedEventsAlarm: {
      name: 'dropped-events',
      AlarmDescription:
        'Lifecycle events acknowledged without effect because retrying cannot help (droppedEvents); see the function log.',
      ...custom('droppedEvents'),
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      ...overZero,
    },
    LifecycleDurationAlarm: {
      name: 'lifecycle-duration-near-timeout',
      AlarmDescription: `A lifecycle invocation ran over 90% of its ${lifecycleTimeout} s timeout: long drains are left to reconcile, but a timeout fails the whole batch.`,
      ...lambda('Duration', 'lifecycle'),
      Statistic: 'Maximum',
      Period: 300,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: lifecycleTimeout * 1000 * 0.9,
      TreatMissingData: 'notBreaching',
    },
  };
  for (const fn of Object.keys(FUNCTIONS)) {
    specs[`${capital(fn)}ErrorsAlarm`] = {
      name: `${fn}-errors`,
      AlarmDescription: `The ${fn} function failed (crash, timeout or unhandled error).`,
      ...lambda('Errors', fn),
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      ...overZero,
    };
    specs[`${capital(fn)}ThrottlesAlarm`] = {
      name: `${fn}-throttles`,
      AlarmDescription: `Invocations of ${fn} were throttled: its reserved concurrency (or the account's) is exhausted.`,
      ...lambda('Throttles', fn),
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      ...overZero,
    };
  }
  freeSlots.forEach(({ backend, threshold }, i) => {
    specs[`FreeSlots${backend.replace(/[^A-Za-z0-9]/g, '')}${i}Alarm`] = {
      name: `free-slots-${backend}`,
      AlarmDescription: `Backend ${backend} has fewer than ${threshold} free server-template slots: add slots before launches find none.`,
      ...custom('freeSlots', [{ Name: 'backend', Value: backend }]),
      // Reconcile reports every minute; no data means reconcile is failing, which its own alarms cover.
      Statistic: 'Minimum',
      Period: 300,
      EvaluationPeriods: 1,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: threshold,
      TreatMissingData: 'missing',
    };
  });
  return specs;
}

/** Dashboard widgets; custom metrics as [namespace, name, 'service', SERVICE, options]. */
function dashboard(lifecycleTimeout) {
  const m = (name, options = {}) => [NAMESPACE, name, 'service', SERVICE, options];
  const fn = (metric, id, options = {}) => [
    'AWS/Lambda',
    metric,
    'FunctionName',
    `\${${FUNCTIONS[id]}}`,
    { label: id, ...options },
  ];
  const q = (metric, id, options) => ['AWS/SQS', metric, 'QueueName', `\${${id}.QueueName}`, options];
  const widget = (title, metrics, extra = {}) => ({
    type: 'metric',
    width: 8,
    height: 6,
    properties: {
      title,
      region: '${AWS::Region}',
      view: 'timeSeries',
      stacked: false,
      period: 60,
      stat: 'Sum',
      metrics,
      ...extra,
    },
  });
  const widgets = [
    widget(
      'Free slots per backend',
      [
        [
          {
            expression: `SEARCH('{${NAMESPACE},backend,service} MetricName="freeSlots" service="${SERVICE}"', 'Minimum', 60)`,
            id: 'free',
            label: '',
          },
        ],
      ],
      { stat: 'Minimum' },
    ),
    widget('Lifecycle events handled / dropped', [
      m('lifecycleEvents'),
      m('droppedEvents'),
      m('ignoredEvents'),
      m('batchRecordFailures'),
      m('spotInterruptionEvents'),
      m('rebalanceEvents'),
      m('stateChangeEvents'),
    ]),
    widget(
      'Event → programmed on every host (ms)',
      [
        m('eventToProgrammed', { stat: 'p50', label: 'eventToProgrammed p50' }),
        m('eventToProgrammed', { stat: 'p99', label: 'eventToProgrammed p99' }),
        m('registerLatency', { stat: 'p99', label: 'registerLatency p99' }),
        m('deregisterLatency', { stat: 'p99', label: 'deregisterLatency p99' }),
        m('reconcileLatency', { stat: 'p99', label: 'reconcileLatency p99' }),
        m('webhookLatency', { stat: 'p99', label: 'webhookLatency p99' }),
      ],
      { stat: 'p99' },
    ),
    widget('HAProxy hosts: failures and commands sent', [m('hostFailures'), m('commandsSent', { yAxis: 'right' })]),
    widget('Reconcile: drift fixed, drains finished, pass errors', [
      m('driftFixed'),
      m('drainsFinished'),
      m('passErrors', { yAxis: 'right' }),
    ]),
    widget('Lifecycle hooks: no free slot, heartbeats', [m('noFreeSlot'), m('heartbeatsSent')]),
    widget('Webhook answers', [m('webhook2xx'), m('webhook4xx'), m('webhook5xx')]),
    widget(
      'Lifecycle queue and DLQ',
      [
        q('ApproximateNumberOfMessagesVisible', 'LifecycleEventsQueue', { label: 'queue visible' }),
        q('ApproximateNumberOfMessagesVisible', 'LifecycleEventsDlq', { label: 'DLQ depth' }),
        q('ApproximateAgeOfOldestMessage', 'LifecycleEventsQueue', { label: 'oldest event (s)', yAxis: 'right' }),
      ],
      { stat: 'Maximum' },
    ),
    widget(
      'Function errors and throttles',
      Object.keys(FUNCTIONS).flatMap((id) => [
        fn('Errors', id, { label: `${id} errors` }),
        fn('Throttles', id, { label: `${id} throttles` }),
      ]),
    ),
    widget(
      'Function duration (max, ms)',
      Object.keys(FUNCTIONS).map((id) => fn('Duration', id)),
      {
        stat: 'Maximum',
        annotations: { horizontal: [{ label: 'lifecycle timeout', value: lifecycleTimeout * 1000 }] },
      },
    ),
  ];
  widgets.forEach((w, i) => Object.assign(w, { x: (i % 3) * 8, y: Math.floor(i / 3) * 6 }));
  return { widgets };
}

/** Alarms and dashboard resources. */
async function monitoring({ resolveVariable }) {
  const service = await resolveVariable('self:service');
  const stage = await resolveVariable('sls:stage');
  const topic = await alarmTopic(resolveVariable);
  const lifecycleTimeout = await functionTimeout(resolveVariable, 'lifecycle');
  const specs = alarmSpecs({ freeSlots: await freeSlotAlarms(resolveVariable), lifecycleTimeout });
  const Resources = {};
  for (const [id, { name, ...properties }] of Object.entries(specs)) {
    Resources[id] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: `${service}-${stage}-${name}`,
        ...properties,
        ...(topic && { AlarmActions: [topic], OKActions: [topic] }),
      },
    };
  }
  Resources.Dashboard = {
    Type: 'AWS::CloudWatch::Dashboard',
    Properties: {
      DashboardName: `${service}-${stage}`,
      // Fn::Sub fills in the region, function and queue names; the rest of the body is literal JSON.
      DashboardBody: { 'Fn::Sub': JSON.stringify(dashboard(lifecycleTimeout)) },
    },
  };
  return { Resources };
}

module.exports = { NAMESPACE, SERVICE, monitoring };
