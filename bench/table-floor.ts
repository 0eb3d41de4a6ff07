// The table's floor for a burst of launches, measured in the same run: the writes one launch cannot do without, bare,
// with as many launches in flight as the benchmark has. No handler, no HAProxy: only DynamoDB Local doing the writes.
import { type DynamoDBClient, TransactWriteItemsCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';

/** The writes of one launch, in order (the handler makes them one after another too). */
export const LAUNCH_WRITES = [
  'claim TransactWriteItems (slot update, member put, retirement check, token check)',
  'completion owed and leased (UpdateItem)',
  'completion done (UpdateItem)',
] as const;

/**
 * Runs `events` launches' writes against `table`, `inFlight` launches at a time, each launch's writes in sequence, on
 * keys of its own (partition `floor-<run>`), and returns the wall time in ms.
 */
export async function tableFloorMs(
  client: DynamoDBClient,
  table: string,
  events: number,
  inFlight: number,
): Promise<number> {
  const pk = { S: `floor-${Date.now()}` };
  const key = (sk: string) => ({ pk, sk: { S: sk } });
  const launch = async (i: number) => {
    await client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Update: {
              TableName: table,
              Key: key(`slot#${i}`),
              UpdateExpression: 'SET #s = :a, #v = :v',
              ExpressionAttributeNames: { '#s': 'state', '#v': 'version' },
              ExpressionAttributeValues: { ':a': { S: 'active' }, ':v': { N: '2' } },
            },
          },
          {
            Put: {
              TableName: table,
              Item: { ...key(`member#${i}`), slot: { S: `slot#${i}` } },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            ConditionCheck: {
              TableName: table,
              Key: key(`retired#${i}`),
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            ConditionCheck: {
              TableName: table,
              Key: key(`owed#${i}`),
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
    );
    for (const expression of ['SET #s = :v, leaseUntil = :n', 'SET #s = :v REMOVE leaseUntil'])
      await client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: key(`owed#${i}`),
          UpdateExpression: expression,
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: {
            ':v': { S: 'owed' },
            ...(expression.includes(':n') ? { ':n': { N: String(Date.now()) } } : {}),
          },
        }),
      );
  };
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, events) }, async () => {
      for (let i = next++; i < events; i = next++) await launch(i);
    }),
  );
  return performance.now() - start;
}
