// Invariant 1 under load: a slot holds at most one member, a member at most one slot — with hundreds of concurrent claims.
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClient } from '../../bin/harness/dynamodb-local.js';
import type { Member } from '../../functions/lib/domain/types.js';
import { NoFreeSlotError } from '../../functions/lib/errors.js';
import { DynamoDbSlotStore } from '../../functions/lib/slots/dynamodb-store.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { storeOps } from '../support/store-ops.js';

let local: DynamoDbLocal;
let tableName: string;
let store: DynamoDbSlotStore;
let ops: ReturnType<typeof storeOps>;
// Hundreds of transactions against one JVM on two shared cores: headroom over the 30 s default, not a timing goal.
const LOAD_TIMEOUT_MS = 120_000;

const member = (i: number): Member => ({
  id: `i-${i}`,
  address: `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`,
  port: 80,
});
const slotNames = (n: number) => Array.from({ length: n }, (_, i) => `web${i + 1}`);

beforeAll(async () => {
  local = await connectDynamoDbLocal();
  tableName = (await local.createTables(`slot-concurrency-${process.pid}`)).slotTable;
  store = new DynamoDbSlotStore({ tableName, client: local.client });
  ops = storeOps(store);
});

afterAll(async () => {
  await local?.stop();
});

/** Every item of the partition read straight from the table, checked for invariant 1; returns owner per slot. */
async function assertConsistent(backend: string): Promise<Map<string, string>> {
  const doc = DynamoDBDocumentClient.from(local.client);
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': backend },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  const owners = new Map<string, string>(); // slot -> member
  const slotsOf = new Map<string, string[]>(); // member -> slots naming it
  for (const item of items.filter((i) => String(i.sk).startsWith('slot#'))) {
    if (item.member === undefined) {
      expect(item.state === 'free' || item.state === 'held').toBe(true);
      continue;
    }
    owners.set(String(item.slot), String(item.member));
    slotsOf.set(String(item.member), [...(slotsOf.get(String(item.member)) ?? []), String(item.slot)]);
  }
  for (const slots of slotsOf.values()) expect(slots).toHaveLength(1);
  const memberItems = items.filter((i) => String(i.sk).startsWith('member#'));
  // Member items and slot owners are the same relation, seen from both ends.
  expect(new Map(memberItems.map((i) => [String(i.slot), String(i.member)]))).toEqual(owners);
  expect(memberItems).toHaveLength(owners.size);
  return owners;
}

describe('concurrent claims', () => {
  it(
    'gives 300 concurrent members exactly the 256 slots: 256 claimed, 44 NoFreeSlotError, no slot twice',
    async () => {
      const backend = 'big';
      await store.seed(backend, slotNames(256));
      const results = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => ops.claim(backend, member(i), 1)));
      const claimed = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const rejected = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
      expect(rejected.filter((e) => !(e instanceof NoFreeSlotError))).toEqual([]);
      expect(claimed).toHaveLength(256);
      expect(rejected).toHaveLength(44);
      expect(new Set(claimed.map((c) => c.slot)).size).toBe(256);
      expect(new Set(claimed.map((c) => c.member)).size).toBe(256);
      const listed = await store.list(backend);
      expect(listed.filter((s) => s.state === 'active')).toHaveLength(256);
      expect(new Set(listed.map((s) => s.member)).size).toBe(256);
      expect(new Map(listed.map((s) => [s.slot, s.member]))).toEqual(new Map(claimed.map((c) => [c.slot, c.member])));
      const owners = await assertConsistent(backend);
      expect(owners.size).toBe(256);
    },
    LOAD_TIMEOUT_MS,
  );

  it(
    'gives one member one slot when it claims 50 times at once, and every call returns that slot',
    async () => {
      const backend = 'dup';
      await store.seed(backend, slotNames(64));
      const results = await Promise.all(Array.from({ length: 50 }, () => ops.claim(backend, member(7), 1)));
      expect(new Set(results.map((r) => r.slot)).size).toBe(1);
      expect(results.every((r) => r.member === 'i-7')).toBe(true);
      expect((await store.list(backend)).filter((s) => s.state === 'active')).toHaveLength(1);
      expect((await assertConsistent(backend)).size).toBe(1);
    },
    LOAD_TIMEOUT_MS,
  );
});

describe("one container's claims", () => {
  it('share one read of the free slots and never race each other for a slot', async () => {
    const backend = 'shared';
    await store.seed(backend, slotNames(128));
    // A fresh store (a cold container) on a client that counts what it sends and the transactions it lost.
    const client = localClient(local.endpoint);
    const sent: Record<string, number> = {};
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const name = String(context.commandName);
        try {
          return await next(args);
        } catch (error) {
          sent[(error as Error).name] = (sent[(error as Error).name] ?? 0) + 1;
          throw error;
        } finally {
          sent[name] = (sent[name] ?? 0) + 1;
        }
      },
      { step: 'initialize', name: 'countSent' },
    );
    const cold = new DynamoDbSlotStore({ tableName, client });
    const claimed = await Promise.all(
      Array.from({ length: 10 }, (_, i) => cold.claim(backend, member(1000 + i), { weight: 1, owner: 'asg' })),
    );
    expect(new Set(claimed.map((c) => c.record.slot)).size).toBe(10);
    expect(sent).toEqual({ QueryCommand: 1, TransactWriteItemsCommand: 10 });
    client.destroy();
  });
});

describe('release racing claims', () => {
  it(
    'never leaves two owners when A releases the only slot while B and C claim it, duplicates included (100 rounds)',
    async () => {
      const backend = 'race';
      await store.seed(backend, ['web1']);
      const [a, b, c] = [member(1), member(2), member(3)];
      // A claimant that keeps asking while the slot is taken, as a retried launch event would: once A's release
      // lands, B and C (B twice) race for the slot, so every round really hands it over. Bounded, no sleeps.
      // Claimants stop asking once one of them has won, so a round costs a few calls, not 200.
      let someoneWon = false;
      const claimEventually = async (m: Member) => {
        for (let attempt = 0; ; attempt++) {
          try {
            const won = await ops.claim(backend, m, 1);
            someoneWon = true;
            return won;
          } catch (error) {
            if (!(error instanceof NoFreeSlotError) || someoneWon || attempt >= 200) throw error;
          }
        }
      };
      for (let round = 0; round < 100; round++) {
        await ops.claim(backend, a, 1);
        someoneWon = false;
        const [releases, claims] = await Promise.all([
          Promise.allSettled([ops.release(backend, a.id), ops.release(backend, a.id)]),
          Promise.allSettled([claimEventually(b), claimEventually(c), claimEventually(b)]),
        ]);
        // Exactly one of the duplicate releases frees the slot; the other finds nothing left to free.
        expect(releases.map((r) => (r.status === 'fulfilled' ? r.value : r.reason)).sort()).toEqual([false, true]);
        // The losers keep hearing NoFreeSlotError until their attempts run out; nothing else may fail.
        for (const r of claims) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(NoFreeSlotError);
        const owners = await assertConsistent(backend);
        const winners = new Set(claims.flatMap((r) => (r.status === 'fulfilled' ? [r.value.member] : [])));
        // The slot changed hands this round, to exactly one of B and C, and the table records that one.
        expect(winners.size).toBe(1);
        expect([...owners.values()]).toEqual([...winners]);
        for (const m of [a, b, c]) await ops.release(backend, m.id);
      }
    },
    LOAD_TIMEOUT_MS,
  );
});
