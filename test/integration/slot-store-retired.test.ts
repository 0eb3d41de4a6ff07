// DynamoDbSlotStore against DynamoDB Local: retired members (tombstones) and the claims they refuse, through the port.
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Member } from '../../functions/lib/domain/types.js';
import { InvalidArgumentError, MemberRetiredError } from '../../functions/lib/errors.js';
import { DynamoDbSlotStore } from '../../functions/lib/slots/dynamodb-store.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { storeOps } from '../support/store-ops.js';

let local: DynamoDbLocal;
let slotTable: string;
let store: DynamoDbSlotStore;
let ops: ReturnType<typeof storeOps>;
let n = 0;
const HOUR = 3_600_000;

/** A backend of its own per test, seeded with `slots` free slots. */
async function backend(slots = 3): Promise<string> {
  const be = `ret${++n}`;
  await store.seed(
    be,
    Array.from({ length: slots }, (_, i) => `web${i + 1}`),
  );
  return be;
}
const member = (id: string): Member => ({ id, address: '127.0.0.7', port: 8080 });

/** A store whose clock is `at()`, sharing the table and client with the others. */
const storeAt = (at: () => number) => new DynamoDbSlotStore({ tableName: slotTable, client: local.client, now: at });

beforeAll(async () => {
  local = await connectDynamoDbLocal();
  ({ slotTable } = await local.createTables(`slot-retired-${process.pid}`));
  store = new DynamoDbSlotStore({ tableName: slotTable, client: local.client });
  ops = storeOps(store);
});

afterAll(async () => {
  await local?.stop();
});

describe('retire', () => {
  it('makes a later claim of the member fail with MemberRetiredError and leaves every slot free', async () => {
    const be = await backend();
    expect(await store.isRetired(be, 'i-gone')).toBe(false);
    await store.retire(be, 'i-gone', Date.now() + HOUR);
    expect(await store.isRetired(be, 'i-gone')).toBe(true);
    const error = await ops.claim(be, member('i-gone'), 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MemberRetiredError);
    expect(error).toMatchObject({ code: 'MEMBER_RETIRED', backend: be, member: 'i-gone' });
    expect((await store.list(be)).map((s) => s.state)).toEqual(['free', 'free', 'free']);
    expect(await store.findByMember(be, 'i-gone')).toBeUndefined();
  });

  it('refuses every one of many concurrent claims that start after the retirement', async () => {
    const be = await backend(8);
    await store.retire(be, 'i-late', Date.now() + HOUR);
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => ops.claim(be, member('i-late'), 1)));
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).name : 'claimed'))).toEqual(
      Array(12).fill('MemberRetiredError'),
    );
    expect((await store.list(be)).filter((s) => s.state !== 'free')).toEqual([]);
  });

  it('only concerns the backend it was written for, and other members of that backend', async () => {
    const be = await backend();
    const other = await backend();
    await store.retire(be, 'i-one', Date.now() + HOUR);
    expect((await ops.claim(other, member('i-one'), 1)).member).toBe('i-one');
    expect((await ops.claim(be, member('i-two'), 1)).member).toBe('i-two');
    expect(await store.isRetired(other, 'i-one')).toBe(false);
  });

  it('keeps the slot a member already holds: the terminate that retired it drains that slot itself', async () => {
    const be = await backend();
    const held = await ops.claim(be, member('i-held'), 1);
    await store.retire(be, 'i-held', Date.now() + HOUR);
    expect(await store.findByMember(be, 'i-held')).toEqual(held);
    expect(await ops.release(be, 'i-held')).toBe(true);
    await expect(ops.claim(be, member('i-held'), 1)).rejects.toBeInstanceOf(MemberRetiredError);
  });

  it('is ignored once expired: reads say not retired and a claim succeeds again', async () => {
    const be = await backend();
    const start = Date.now();
    await store.retire(be, 'i-old', start + HOUR);
    const later = storeAt(() => start + 2 * HOUR);
    expect(await storeAt(() => start + HOUR - 1_000).isRetired(be, 'i-old')).toBe(true);
    expect(await later.isRetired(be, 'i-old')).toBe(false);
    expect((await later.claim(be, member('i-old'), { weight: 1, owner: 'webhook' })).record.member).toBe('i-old');
  });

  it('never shortens a retirement, and extends it when asked for a later expiry', async () => {
    const be = await backend();
    const start = Date.now();
    await store.retire(be, 'i-ext', start + 2 * HOUR);
    await store.retire(be, 'i-ext', start + HOUR);
    expect(await storeAt(() => start + 90 * 60_000).isRetired(be, 'i-ext')).toBe(true);
    await store.retire(be, 'i-ext', start + 3 * HOUR);
    expect(await storeAt(() => start + 150 * 60_000).isRetired(be, 'i-ext')).toBe(true);
    expect(await storeAt(() => start + 3 * HOUR + 1_000).isRetired(be, 'i-ext')).toBe(false);
  });

  it('writes one small item with a TTL-format expiry (epoch seconds) and nothing that list() would show', async () => {
    const be = await backend(1);
    const until = Date.now() + HOUR;
    await store.retire(be, 'i-small', until);
    const out = await local.client.send(
      new GetItemCommand({ TableName: slotTable, Key: { pk: { S: be }, sk: { S: 'retired#i-small' } } }),
    );
    expect(out.Item).toEqual({
      pk: { S: be },
      sk: { S: 'retired#i-small' },
      member: { S: 'i-small' },
      expiresAt: { N: String(Math.ceil(until / 1000)) },
    });
    expect((await store.list(be)).map((s) => s.slot)).toEqual(['web1']);
  });

  it('reads a tombstone without an expiry as the claim condition does: retired, and the claim is refused', async () => {
    // Every tombstone this code writes has one; an item without it (written by hand, or by an older release) must not
    // read as "not retired" while the claim's `attribute_not_exists(pk) OR expiresAt <= now` refuses the member.
    const be = await backend(1);
    await local.client.send(
      new PutItemCommand({
        TableName: slotTable,
        Item: { pk: { S: be }, sk: { S: 'retired#i-bare' }, member: { S: 'i-bare' } },
      }),
    );
    expect(await store.isRetired(be, 'i-bare')).toBe(true);
    await expect(ops.claim(be, member('i-bare'), 1)).rejects.toBeInstanceOf(MemberRetiredError);
  });

  it('rejects a bad expiry or member name before writing anything', async () => {
    const be = await backend(1);
    await expect(store.retire(be, 'i-x', Number.NaN)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(store.retire(be, 'i x; drop', Date.now() + HOUR)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await store.isRetired(be, 'i-x')).toBe(false);
  });
});

describe('retire racing claims', () => {
  it('lets a claim and a retirement of the same member never both miss each other', async () => {
    // Whatever the interleaving: a claim that succeeded committed before the retirement, so the slot is visible to
    // a findByMember made after retire() returned; every claim after that is refused.
    for (let round = 0; round < 5; round++) {
      const be = await backend(4);
      const claims = Promise.allSettled(Array.from({ length: 6 }, () => ops.claim(be, member('i-race'), 1)));
      await store.retire(be, 'i-race', Date.now() + HOUR);
      const seenAfterRetire = await store.findByMember(be, 'i-race');
      const results = await claims;
      const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.slot] : []));
      for (const r of results) if (r.status === 'rejected') expect((r.reason as Error).name).toBe('MemberRetiredError');
      expect(new Set(won).size).toBeLessThanOrEqual(1);
      expect(seenAfterRetire?.slot).toBe(won[0]);
      await expect(ops.claim(be, member('i-race'), 1)).rejects.toBeInstanceOf(MemberRetiredError);
    }
  });
});
