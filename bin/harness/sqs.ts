// An SQS record carrying an EventBridge event, shaped as the lifecycle queue's event source mapping hands it to the
// function: one shape for the tests, the benchmarks and the local stack's queue.
import { randomUUID } from 'node:crypto';

/** Where the record comes from and how often it was received (SQS counts receives per message). */
export interface SqsRecordOptions {
  readonly receives?: number;
  readonly region?: string;
  readonly queueArn?: string;
}

export function sqsRecord(
  body: unknown,
  options: SqsRecordOptions = {},
): { readonly messageId: string } & Record<string, unknown> {
  const now = String(Date.now());
  const region = options.region ?? 'us-east-1';
  return {
    messageId: randomUUID(),
    receiptHandle: randomUUID(),
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: String(options.receives ?? 1),
      SentTimestamp: now,
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: now,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: options.queueArn ?? `arn:aws:sqs:${region}:123456789012:haproxy-slot-sync-test-lifecycle-events`,
    awsRegion: region,
  };
}
