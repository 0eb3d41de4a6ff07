// Shared names: every custom CloudWatch metric the functions emit (namespace HaproxySlotSync, dimension `service`).
// The stack's alarms and dashboard read only these names; test/unit/infra checks that against the packaged template.

/** Custom metric names (key = value), so handlers, alarms and the dashboard cannot drift apart. */
export const METRICS = {
  /** Count: every lifecycle delivery, duplicates included. */
  lifecycleEvents: 'lifecycleEvents',
  /** Count: events acknowledged without effect because a retry cannot help (invalid, unknown group, gone action). */
  droppedEvents: 'droppedEvents',
  /** ms: one launch handled (claim, program every host, complete). */
  registerLatency: 'registerLatency',
  /** ms: one terminate handled (drain, wait, free, complete). */
  deregisterLatency: 'deregisterLatency',
  /** Count: backends in which a launch found no free slot. */
  noFreeSlot: 'noFreeSlot',
  /** ms: from the launch event's time to the slot programmed on every host. */
  eventToProgrammed: 'eventToProgrammed',
  /** Count: instance events for instances that hold no slot. */
  ignoredEvents: 'ignoredEvents',
  /** Count: EC2 Spot Instance Interruption Warning events received. */
  spotInterruptionEvents: 'spotInterruptionEvents',
  /** Count: EC2 Instance Rebalance Recommendation events received. */
  rebalanceEvents: 'rebalanceEvents',
  /** Count: EC2 Instance State-change Notification events received. */
  stateChangeEvents: 'stateChangeEvents',
  /** Count: SQS records of a batch reported back as failed (retried after the visibility timeout). */
  batchRecordFailures: 'batchRecordFailures',
  /** ms: one webhook request. */
  webhookLatency: 'webhookLatency',
  /** Count: webhook answers by status class. */
  webhook2xx: 'webhook2xx',
  webhook4xx: 'webhook4xx',
  webhook5xx: 'webhook5xx',
  /** Count: slots a reconcile pass re-programmed on some host. */
  driftFixed: 'driftFixed',
  /** Count: Runtime API commands sent. */
  commandsSent: 'commandsSent',
  /** Count: hosts that could not be observed or programmed. */
  hostFailures: 'hostFailures',
  /** Count: due transitions and owed lifecycle completions a reconcile pass could not carry out and went on past. */
  passErrors: 'passErrors',
  /** Count: drains finished (slot freed) by reconcile. */
  drainsFinished: 'drainsFinished',
  /** Count: lifecycle heartbeats recorded while a drain outlasts the hook's timeout. */
  heartbeatsSent: 'heartbeatsSent',
  /** Count, with dimension `backend` in its own EMF document: free slots per backend after a reconcile pass. */
  freeSlots: 'freeSlots',
  /** ms: one reconcile pass. */
  reconcileLatency: 'reconcileLatency',
} as const;

export type MetricName = (typeof METRICS)[keyof typeof METRICS];
