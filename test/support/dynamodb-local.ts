// Tests' handle on DynamoDB Local: the instance the whole vitest run shares (global-dynamodb.ts), or one of its own.
import { inject } from 'vitest';
import { handle, localClient, startDynamoDbLocal, waitUntilAnswering } from '../../bin/harness/dynamodb-local.js';
import type { DynamoDbLocal } from './dynamodb-local.js';

export type { DynamoDbLocal } from '../../bin/harness/dynamodb-local.js';

/** The run-wide instance when test/support/global-dynamodb.ts is a globalSetup, else one of this test file's own. */
export async function connectDynamoDbLocal(): Promise<DynamoDbLocal> {
  const shared = inject('dynamodbLocalPort');
  if (shared === undefined) return startDynamoDbLocal();
  const client = localClient(`http://127.0.0.1:${shared}`);
  await waitUntilAnswering(client, undefined, () => '');
  return handle(shared, client, async () => {});
}
