// Retired members at the SDK boundary (aws-sdk-client-mock, no network): the claim's tombstone check and retire's retries.
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  TransactionCanceledException,
  TransactionConflictException,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { MemberRetiredError } from '../../../functions/lib/errors.js';
import { DynamoDbSlotStore } from '../../../functions/lib/slots/dynamodb-store.js';

const ddb = mockClient(DynamoDBDocumentClient);
const doc = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
);
const meta = { $metadata: {} };
const NOW = 1_800_000_000_000;
const makeStore = () =>
  new DynamoDbSlotStore({
    tableName: 't',
    client: doc,
    random: () => 0,
    sleep: async () => {},
    maxAttempts: 5,
    now: () => NOW,
  });

beforeEach(() => {
  ddb.reset();
  ddb.on(GetCommand).resolves({});
});

describe('claim and the tombstone', () => {
  it('checks, in the same transaction, that the member has no live tombstone', async () => {
    ddb.on(QueryCommand).resolves({ Items: [{ pk: 'be', sk: 'slot#web1', slot: 'web1', state: 'free', version: 1 }] });
    ddb.on(TransactWriteCommand).resolves({});
    await makeStore().claim('be', { id: 'i-1', address: '127.0.0.71', port: 80 }, { weight: 1, owner: 'webhook' });
    const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items).toHaveLength(3);
    expect(items[2]).toEqual({
      ConditionCheck: {
        TableName: 't',
        Key: { pk: 'be', sk: 'retired#i-1' },
        ConditionExpression: 'attribute_not_exists(#pk) OR #expiresAt <= :now',
        ExpressionAttributeNames: { '#pk': 'pk', '#expiresAt': 'expiresAt' },
        ExpressionAttributeValues: { ':now': NOW / 1000 },
      },
    });
  });

  it('throws MemberRetiredError at once when the tombstone check fails, without trying another slot', async () => {
    ddb.on(QueryCommand).resolves({
      Items: [
        { pk: 'be', sk: 'slot#web1', slot: 'web1', state: 'free', version: 1 },
        { pk: 'be', sk: 'slot#web2', slot: 'web2', state: 'free', version: 1 },
      ],
    });
    ddb.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        ...meta,
        message: 'cancelled',
        CancellationReasons: [{ Code: 'None' }, { Code: 'None' }, { Code: 'ConditionalCheckFailed' }],
      }),
    );
    await expect(
      makeStore().claim('be', { id: 'i-1', address: '127.0.0.71', port: 80 }, { weight: 1, owner: 'webhook' }),
    ).rejects.toBeInstanceOf(MemberRetiredError);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
  });
});

describe('retire', () => {
  it('writes the tombstone again when a claim transaction held the item (a conflict is not "already retired")', async () => {
    ddb
      .on(PutCommand)
      .rejectsOnce(new TransactionConflictException({ ...meta, message: 'Transaction is ongoing for the item' }))
      .resolves({});
    await makeStore().retire('be', 'i-1', NOW + 60_000);
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 2);
    expect(ddb.commandCalls(PutCommand)[1]?.args[0].input.Item).toEqual({
      pk: 'be',
      sk: 'retired#i-1',
      member: 'i-1',
      expiresAt: (NOW + 60_000) / 1000,
    });
  });

  it('stops at a failed condition: a tombstone that lasts at least as long is already there', async () => {
    ddb
      .on(PutCommand)
      .rejects(new ConditionalCheckFailedException({ ...meta, message: 'The conditional request failed' }));
    await makeStore().retire('be', 'i-1', NOW + 60_000);
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 1);
  });

  it('reads an expired tombstone as not retired', async () => {
    ddb.on(GetCommand, { Key: { pk: 'be', sk: 'retired#i-old' } }).resolves({ Item: { expiresAt: NOW / 1000 } });
    ddb.on(GetCommand, { Key: { pk: 'be', sk: 'retired#i-new' } }).resolves({ Item: { expiresAt: NOW / 1000 + 1 } });
    expect(await makeStore().isRetired('be', 'i-old')).toBe(false);
    expect(await makeStore().isRetired('be', 'i-new')).toBe(true);
  });
});
