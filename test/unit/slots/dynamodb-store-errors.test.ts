// DynamoDbSlotStore at the SDK boundary (aws-sdk-client-mock, no network): how SDK failures become domain outcomes.
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ThrottlingException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { NoFreeSlotError, SlotConflictError, StoreUnavailableError } from '../../../functions/lib/errors.js';
import { DynamoDbSlotStore } from '../../../functions/lib/slots/dynamodb-store.js';

const ddb = mockClient(DynamoDBDocumentClient);
// A real client whose send is stubbed: nothing leaves the process.
const doc = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
);
const meta = { $metadata: {} };
const member = { id: 'i-1', address: '127.0.0.71', port: 80 };
const freeSlot = (slot: string, version = 1) => ({ pk: 'be', sk: `slot#${slot}`, slot, state: 'free', version });
const owned = (slot: string) => ({
  pk: 'be',
  sk: `slot#${slot}`,
  slot,
  state: 'active',
  version: 2,
  member: 'i-1',
  address: '127.0.0.71',
  port: 80,
  weight: 1,
});

function cancelled(...codes: Array<string | { Code: string; Item: Record<string, unknown> }>) {
  return new TransactionCanceledException({
    ...meta,
    message: 'Transaction cancelled',
    CancellationReasons: codes.map((c) => (typeof c === 'string' ? { Code: c } : c)) as never,
  });
}

/** The store under test, with a deterministic pick (always the first candidate) and no real waiting. */
const makeStore = (maxAttempts = 10) =>
  new DynamoDbSlotStore({ tableName: 't', client: doc, random: () => 0, sleep: async () => {}, maxAttempts });

beforeEach(() => {
  ddb.reset();
  ddb.on(GetCommand).resolves({});
});

describe('unavailable store', () => {
  it.each([
    ['ThrottlingException', new ThrottlingException({ ...meta, message: 'slow down' })],
    [
      'ProvisionedThroughputExceededException',
      new ProvisionedThroughputExceededException({ ...meta, message: 'too much' }),
    ],
    ['RequestLimitExceeded', new RequestLimitExceeded({ ...meta, message: 'account limit' })],
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' })],
    [
      'a 500',
      Object.assign(new Error('We encountered an internal error'), {
        name: 'InternalServerError',
        $metadata: { httpStatusCode: 500 },
      }),
    ],
  ])('turns %s (after the SDK retries) into StoreUnavailableError with the cause kept', async (_, failure) => {
    ddb.on(GetCommand).rejects(failure);
    const error = await makeStore()
      .findByMember('be', 'i-1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).cause).toBe(failure);
  });

  it('treats a transaction cancelled only by throttling as unavailability, not a lost race', async () => {
    ddb.on(QueryCommand).resolves({ Items: [freeSlot('web1')] });
    ddb.on(TransactWriteCommand).rejects(cancelled('ThrottlingError', 'None'));
    await expect(makeStore().claim('be', member, { weight: 1, owner: 'webhook' })).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
  });
});

describe('reading several slots', () => {
  const keyOf = (slot: string) => ({ pk: 'be', sk: `slot#${slot}` });

  it('asks again for the keys DynamoDB left unprocessed, and answers every slot in the order asked', async () => {
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { t: [owned('web2')] }, UnprocessedKeys: { t: { Keys: [keyOf('web1')] } } })
      .resolvesOnce({ Responses: { t: [freeSlot('web1')] } });
    const many = await makeStore().getMany('be', ['web1', 'web2']);
    expect(many.map((r) => [r.slot, r.state])).toEqual([
      ['web1', 'free'],
      ['web2', 'active'],
    ]);
    const asked = ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems?.t);
    expect(asked).toEqual([
      { Keys: [keyOf('web1'), keyOf('web2')], ConsistentRead: true },
      { Keys: [keyOf('web1')], ConsistentRead: true },
    ]);
  });

  it('is unavailable, not a partial answer, when keys stay unprocessed', async () => {
    ddb.on(BatchGetCommand).resolves({ Responses: { t: [] }, UnprocessedKeys: { t: { Keys: [keyOf('web1')] } } });
    await expect(makeStore().getMany('be', ['web1'])).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(6);
  });

  it('sends at most 100 keys a request, each key once', async () => {
    ddb.on(BatchGetCommand).resolves({ Responses: { t: [] } });
    const names = Array.from({ length: 250 }, (_, i) => `web${i}`);
    expect(await makeStore().getMany('be', [...names, 'web0'])).toEqual([]);
    expect(ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems?.t?.Keys?.length)).toEqual([
      100, 100, 50,
    ]);
  });
});

describe('bugs are not disguised', () => {
  it('rethrows a ValidationException as is', async () => {
    const failure = Object.assign(new Error('One or more parameter values were invalid'), {
      name: 'ValidationException',
      $metadata: {},
    });
    ddb.on(QueryCommand).rejects(failure);
    await expect(makeStore().list('be')).rejects.toBe(failure);
  });

  it('rethrows an error that did not come from the SDK call path as is', async () => {
    const failure = new TypeError('boom');
    ddb.on(QueryCommand).rejects(failure);
    await expect(makeStore().list('be')).rejects.toBe(failure);
  });
});

describe('claim cancellation reasons', () => {
  it('returns the slot the member won elsewhere when its member item already exists (no second query)', async () => {
    ddb.on(QueryCommand).resolves({ Items: [freeSlot('web1')] });
    ddb
      .on(TransactWriteCommand)
      .rejects(
        cancelled('None', { Code: 'ConditionalCheckFailed', Item: { slot: { S: 'web2' }, member: { S: 'i-1' } } }),
      );
    ddb.on(GetCommand, { Key: { pk: 'be', sk: 'slot#web2' } }).resolves({ Item: owned('web2') });
    const { record: slot } = await makeStore().claim('be', member, { weight: 1, owner: 'webhook' });
    expect(slot).toMatchObject({ slot: 'web2', member: 'i-1', state: 'active' });
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
  });

  it('picks another free slot when the chosen one was taken under it', async () => {
    ddb.on(QueryCommand).resolves({ Items: [freeSlot('web1'), freeSlot('web2')] });
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled('ConditionalCheckFailed', 'None')).resolves({});
    const { record: slot } = await makeStore().claim('be', member, { weight: 4, owner: 'webhook' });
    const tried = ddb
      .commandCalls(TransactWriteCommand)
      .map((c) => c.args[0].input.TransactItems?.[0]?.Update?.Key?.sk);
    expect(tried).toEqual(['slot#web1', 'slot#web2']);
    expect(slot).toEqual({
      backend: 'be',
      slot: 'web2',
      state: 'active',
      version: 2,
      member: 'i-1',
      address: '127.0.0.71',
      port: 80,
      weight: 4,
      owner: 'webhook',
    });
  });

  it('looks at the member again after a TransactionConflict on its member item', async () => {
    ddb.on(QueryCommand).resolves({ Items: [freeSlot('web1'), freeSlot('web2')] });
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'TransactionConflict'));
    ddb
      .on(GetCommand, { Key: { pk: 'be', sk: 'member#i-1' } })
      .resolvesOnce({})
      .resolves({ Item: { slot: 'web3', member: 'i-1' } });
    ddb.on(GetCommand, { Key: { pk: 'be', sk: 'slot#web3' } }).resolves({ Item: owned('web3') });
    expect((await makeStore().claim('be', member, { weight: 1, owner: 'webhook' })).record.slot).toBe('web3');
  });

  it('throws SlotConflictError, not NoFreeSlotError, when every attempt loses while slots are still free', async () => {
    ddb.on(QueryCommand).resolves({ Items: [freeSlot('web1'), freeSlot('web2'), freeSlot('web3')] });
    ddb.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', 'None'));
    await expect(makeStore(5).claim('be', member, { weight: 1, owner: 'webhook' })).rejects.toBeInstanceOf(
      SlotConflictError,
    );
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 5);
  });

  it('throws NoFreeSlotError only after a consistent read finds no free slot', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    await expect(makeStore().claim('be', member, { weight: 1, owner: 'webhook' })).rejects.toBeInstanceOf(
      NoFreeSlotError,
    );
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, { ConsistentRead: true });
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 0);
  });
});

describe('conditional updates', () => {
  it('decides again on the item a failed condition returned, without reading it back', async () => {
    ddb.on(GetCommand, { Key: { pk: 'be', sk: 'member#i-1' } }).resolves({ Item: { slot: 'web1', member: 'i-1' } });
    ddb.on(GetCommand, { Key: { pk: 'be', sk: 'slot#web1' } }).resolves({ Item: owned('web1') });
    const now = { ...owned('web1'), version: 3, weight: 7 };
    const lost = new ConditionalCheckFailedException({ ...meta, message: 'The conditional request failed' });
    Object.assign(lost, {
      Item: {
        pk: { S: 'be' },
        sk: { S: 'slot#web1' },
        slot: { S: 'web1' },
        state: { S: 'active' },
        version: { N: '3' },
        member: { S: 'i-1' },
        weight: { N: '7' },
      },
    });
    ddb
      .on(UpdateCommand)
      .rejectsOnce(lost)
      .resolves({ Attributes: { ...now, version: 4, state: 'draining', drainDeadline: 99 } });
    const { record: drained } = await makeStore().apply(
      'be',
      { member: 'i-1' },
      { kind: 'terminate', now: 0, deadline: 99 },
    );
    expect(drained).toMatchObject({ state: 'draining', version: 4, drainDeadline: 99 });
    const guards = ddb
      .commandCalls(UpdateCommand)
      .map((c) => c.args[0].input.ExpressionAttributeValues?.[':if_version']);
    expect(guards).toEqual([2, 3]);
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 2);
  });
});
