// DynamoDbSlotStore against DynamoDB Local: tables, seed, claim, release and list, through the port only.
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Member } from '../../functions/lib/domain/types.js';
import { InvalidArgumentError, NoFreeSlotError } from '../../functions/lib/errors.js';
import { DynamoDbSlotStore } from '../../functions/lib/slots/dynamodb-store.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { storeOps } from '../support/store-ops.js';

let local: DynamoDbLocal;
let tables: { slotTable: string; idempotencyTable: string };
let store: DynamoDbSlotStore;
let ops: ReturnType<typeof storeOps>;
let n = 0;

/** A backend name of its own per test, so tests share the table but never a partition. */
const backend = () => `be${++n}`;
const member = (id: string, last = 10): Member => ({ id, address: `127.0.0.${last}`, port: 8080 });

beforeAll(async () => {
  local = await connectDynamoDbLocal();
  tables = await local.createTables(`slot-store-${process.pid}`);
  store = new DynamoDbSlotStore({ tableName: tables.slotTable, client: local.client });
  ops = storeOps(store);
});

afterAll(async () => {
  await local?.stop();
});

describe('tables', () => {
  it('creates the slot table with the key schema infra deploys and the idempotency table with its TTL', async () => {
    const slot = await local.client.send(new DescribeTableCommand({ TableName: tables.slotTable }));
    expect(slot.Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    const ttl = await local.client.send(new DescribeTimeToLiveCommand({ TableName: tables.idempotencyTable }));
    expect(ttl.TimeToLiveDescription?.AttributeName).toBe('expiration');
  });
});

describe('seed', () => {
  it('creates free slots once and leaves existing ones untouched on a second run', async () => {
    const be = backend();
    expect((await store.seed(be, ['web2', 'web1'])).created).toEqual(['web1', 'web2']);
    const claimed = await ops.claim(be, member('i-a'), 5);
    expect((await store.seed(be, ['web1', 'web2', 'web3'])).created).toEqual(['web3']);
    const slots = await store.list(be);
    expect(slots.map((s) => [s.slot, s.state])).toEqual([
      ['web1', claimed.slot === 'web1' ? 'active' : 'free'],
      ['web2', claimed.slot === 'web2' ? 'active' : 'free'],
      ['web3', 'free'],
    ]);
    expect(slots.find((s) => s.slot === claimed.slot)).toEqual(claimed);
  });

  it('rejects an invalid slot name before writing anything', async () => {
    const be = backend();
    await expect(store.seed(be, ['web1', 'web 2'])).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await store.list(be)).toEqual([]);
  });
});

describe('claim', () => {
  it('claims a free slot with the member, address, port and weight', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    const slot = await ops.claim(be, member('i-a', 7), 3);
    expect(slot).toEqual({
      backend: be,
      slot: 'web1',
      state: 'active',
      version: 2,
      member: 'i-a',
      address: '127.0.0.7',
      port: 8080,
      weight: 3,
      owner: 'webhook',
    });
    expect(await store.findByMember(be, 'i-a')).toEqual(slot);
  });

  it("returns the member's existing slot instead of taking a second one", async () => {
    const be = backend();
    await store.seed(be, ['web1', 'web2', 'web3']);
    const first = await ops.claim(be, member('i-a'), 1);
    const again = await ops.claim(be, member('i-a'), 1);
    expect(again).toEqual(first);
    expect((await store.list(be)).filter((s) => s.state === 'active')).toHaveLength(1);
  });

  it('throws NoFreeSlotError when every slot is taken', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    await ops.claim(be, member('i-a'), 1);
    await expect(ops.claim(be, member('i-b'), 1)).rejects.toBeInstanceOf(NoFreeSlotError);
  });

  it('refuses an address that is not an IP literal', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    await expect(ops.claim(be, { id: 'i-a', address: 'evil;host', port: 80 }, 1)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    expect((await store.list(be))[0]?.state).toBe('free');
  });
});

describe('release', () => {
  it('frees the slot and forgets the owner so another member can take it', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    await ops.claim(be, member('i-a'), 4);
    expect(await ops.release(be, 'i-a')).toBe(true);
    expect(await store.findByMember(be, 'i-a')).toBeUndefined();
    expect(await store.list(be)).toEqual([{ backend: be, slot: 'web1', state: 'free', version: 3 }]);
    expect((await ops.claim(be, member('i-b'), 1)).member).toBe('i-b');
  });

  it('returns false and changes nothing when the member owns no slot (a repeated release)', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    await ops.claim(be, member('i-a'), 1);
    expect(await ops.release(be, 'i-a')).toBe(true);
    await ops.claim(be, member('i-b'), 1);
    expect(await ops.release(be, 'i-a')).toBe(false);
    expect((await store.list(be))[0]?.member).toBe('i-b');
  });

  it('keeps an operator hold when the held slot is released', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    await ops.claim(be, member('i-a'), 1);
    await ops.hold(be, 'web1', 'maint');
    expect(await ops.release(be, 'i-a')).toBe(true);
    const [slot] = await store.list(be);
    expect(slot).toMatchObject({ state: 'held', heldAdmin: 'maint', heldFrom: 'free' });
    expect(slot?.member).toBeUndefined();
    expect((await ops.unhold(be, 'web1')).state).toBe('free');
  });
});

describe('list', () => {
  it('returns only slot items, in natural order', async () => {
    const be = backend();
    await store.seed(be, ['web10', 'web2', 'web1', 'web20', 'web3']);
    await ops.claim(be, member('i-a'), 1);
    expect((await store.list(be)).map((s) => s.slot)).toEqual(['web1', 'web2', 'web3', 'web10', 'web20']);
  });

  it('reads every page when the partition is larger than one 1 MB query page', async () => {
    const be = backend();
    const names = Array.from({ length: 10 }, (_, i) => `web${i + 1}`);
    await store.seed(be, names);
    // Pad the first slot items in key order to ~300 KB each (written straight to the table), so more than 1 MB comes
    // before the last items and the partition needs several pages.
    const pad = 'x'.repeat(300_000);
    for (const slot of ['web1', 'web2', 'web3', 'web4']) {
      await local.client.send(
        new PutItemCommand({
          TableName: tables.slotTable,
          Item: {
            pk: { S: be },
            sk: { S: `slot#${slot}` },
            slot: { S: slot },
            state: { S: 'free' },
            version: { N: '1' },
            pad: { S: pad },
          },
        }),
      );
    }
    const firstPage = await local.client.send(
      new QueryCommand({
        TableName: tables.slotTable,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: be } },
      }),
    );
    expect(firstPage.LastEvaluatedKey).toBeDefined(); // the precondition: one page does not hold the partition
    for (let i = 0; i < 10; i++) await ops.claim(be, member(`i-${i}`), 1);
    const listed = await store.list(be);
    expect(listed.map((s) => s.slot)).toEqual(names);
    expect(listed.every((s) => s.state === 'active')).toBe(true);
    await expect(ops.claim(be, member('i-late'), 1)).rejects.toBeInstanceOf(NoFreeSlotError);
  }, 60_000);
});
