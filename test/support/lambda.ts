// Invoking the real handlers in-process: a Lambda context, and the environment the deployed functions get.
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { sqsRecord } from '../../bin/harness/sqs.js';

/** A Lambda context whose deadline is `remainingMs` from now. */
export function lambdaContext(remainingMs = 60_000, functionName = 'test'): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/**
 * Sets the environment exactly as serverless.yml gives it to the functions, with the SDK pointed at DynamoDB Local
 * through its own AWS_ENDPOINT_URL_DYNAMODB. Call before the handler module is first imported: it reads env once.
 */
export function handlerEnv(options: {
  dynamoPort: number;
  slotTable: string;
  idempotencyTable: string;
  config: unknown;
  webhookSecretParameter?: string;
  /** Read the config from this SSM parameter (as deployed) instead of CONFIG_JSON. */
  configParameter?: string;
}): void {
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${options.dynamoPort}`,
    SLOT_TABLE: options.slotTable,
    IDEMPOTENCY_TABLE: options.idempotencyTable,
    ...(options.configParameter
      ? { CONFIG_PARAMETER: options.configParameter }
      : { CONFIG_JSON: JSON.stringify(options.config) }),
    ...(options.webhookSecretParameter ? { WEBHOOK_SECRET_PARAMETER: options.webhookSecretParameter } : {}),
  });
  if (options.configParameter) delete process.env.CONFIG_JSON;
}

/** A real-shaped EventBridge lifecycle event from a fixture, with the instance and token this test wants. */
export function lifecycleEvent(
  fixture: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const detail = { ...(fixture.detail as Record<string, unknown>), ...patch };
  return { ...fixture, id: randomUUID(), detail };
}

/** An EC2 notice from a fixture (spot-interruption / rebalance-recommendation / instance-state-change). */
export function instanceEvent(
  fixture: Record<string, unknown>,
  detail: Record<string, unknown>,
  time = new Date(),
): Record<string, unknown> {
  return {
    ...fixture,
    id: randomUUID(),
    time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    detail: { ...(fixture.detail as Record<string, unknown>), ...detail },
  };
}

/** The SQS event source's batch around EventBridge events (or raw bodies), as the lifecycle queue delivers them. */
export function sqsBatch(bodies: readonly unknown[]): { Records: Record<string, unknown>[] } {
  return { Records: bodies.map((b) => sqsRecord(b)) };
}
