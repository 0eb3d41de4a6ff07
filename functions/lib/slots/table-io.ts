// The slot table's reads and writes through the document client; every call goes through the error boundary.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { SlotRecord } from '../domain/types.js';
import { StoreUnavailableError } from '../errors.js';
import { type ItemKey, memberKey, SLOT_PREFIX, slotKey } from './keys.js';
import { type Item, itemToRecord } from './mapping.js';
import { attempt, Rejected } from './sdk-errors.js';
import { type Guard, type SlotPatch, slotUpdate } from './update-expression.js';

/** A condition expression with its names and values, as a Put, Update or ConditionCheck carries it. */
export interface Condition {
  readonly ConditionExpression: string;
  readonly ExpressionAttributeNames?: Record<string, string>;
  readonly ExpressionAttributeValues?: Record<string, unknown>;
}

// BatchGetItem's limit per request, and how many times keys it leaves unprocessed are asked again.
const BATCH_GET_KEYS = 100;
const BATCH_GET_ROUNDS = 6;

type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

/** Typed access to one slot table. Reads are strongly consistent: decisions are made on them. */
export class SlotTableIo {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  private async must<T>(what: string, run: () => Promise<T>): Promise<T> {
    const result = await attempt(what, run);
    // Only conditional writes can be rejected; reaching this on a read would be an SDK contract change.
    if (result instanceof Rejected) throw new Error(`${what}: unexpected conditional rejection`);
    return result;
  }

  /** One item by key, or undefined. */
  async get(key: ItemKey): Promise<Item | undefined> {
    const out = await this.must(`get ${key.pk}/${key.sk}`, () =>
      this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })),
    );
    return out.Item;
  }

  /** The slot record, or undefined when the slot was never seeded. */
  async slot(backend: string, slot: string): Promise<SlotRecord | undefined> {
    const item = await this.get(slotKey(backend, slot));
    return item ? itemToRecord(item) : undefined;
  }

  /**
   * The seeded slots among `names`, strongly consistent, in the order asked (a name never seeded is left out). One
   * BatchGetItem per 100 keys: a batch's converge loop reads its ten slots in one request instead of ten. Keys DynamoDB
   * leaves unprocessed (throttling) are asked again after a jittered wait, a bounded number of times.
   */
  async slots(
    backend: string,
    names: readonly string[],
    sleep: (ms: number) => Promise<void>,
    random: () => number,
  ): Promise<SlotRecord[]> {
    const unique = [...new Set(names)];
    const found = new Map<string, SlotRecord>();
    for (let i = 0; i < unique.length; i += BATCH_GET_KEYS) {
      let keys: Record<string, unknown>[] = unique
        .slice(i, i + BATCH_GET_KEYS)
        .map((n) => ({ ...slotKey(backend, n) }));
      for (let round = 0; keys.length > 0; round++) {
        if (round >= BATCH_GET_ROUNDS)
          throw new StoreUnavailableError(
            `batch get ${backend}: ${keys.length} keys still unprocessed after ${round} tries`,
          );
        if (round > 0) await sleep(Math.floor(random() * Math.min(200, 10 * 2 ** round)));
        const batch = keys;
        const out = await this.must(`batch get ${backend} (${batch.length} slots)`, () =>
          this.doc.send(
            new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: batch, ConsistentRead: true } } }),
          ),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) {
          const record = itemToRecord(item);
          found.set(record.slot, record);
        }
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return unique.flatMap((n) => {
      const record = found.get(n);
      return record ? [record] : [];
    });
  }

  /** The slot name the member item points at, or undefined when the member owns nothing. */
  async memberSlot(backend: string, memberId: string): Promise<string | undefined> {
    const item = await this.get(memberKey(backend, memberId));
    return typeof item?.slot === 'string' ? item.slot : undefined;
  }

  /** Every slot item of a backend (all pages), optionally only the free ones. */
  async slotItems(backend: string, onlyFree = false): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.must(`query ${backend}`, () =>
        this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            ConsistentRead: true,
            KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :slot)',
            // Free slots carry nothing else; the projection keeps the hot claim read small.
            ...(onlyFree
              ? {
                  FilterExpression: '#state = :free',
                  ProjectionExpression: '#pk, #sk, #slot, #state, #version, #dynamic',
                }
              : {}),
            ExpressionAttributeNames: {
              '#pk': 'pk',
              '#sk': 'sk',
              ...(onlyFree ? { '#state': 'state', '#slot': 'slot', '#version': 'version', '#dynamic': 'dynamic' } : {}),
            },
            ExpressionAttributeValues: {
              ':pk': backend,
              ':slot': SLOT_PREFIX,
              ...(onlyFree ? { ':free': 'free' } : {}),
            },
            ExclusiveStartKey: start,
          }),
        ),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** Every item of a partition whose sort key starts with `prefix` (all pages). */
  async partition(pk: string, prefix: string): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.must(`query ${pk}`, () =>
        this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            ConsistentRead: true,
            KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
            ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
            ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
            ExclusiveStartKey: start,
          }),
        ),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** An UpdateItem with its own expressions; the item after it, or Rejected when its condition failed. */
  async updateRaw(
    key: ItemKey,
    expressions: {
      UpdateExpression: string;
      ConditionExpression?: string;
      ExpressionAttributeNames?: Record<string, string>;
      ExpressionAttributeValues?: Record<string, unknown>;
    },
  ): Promise<Item | Rejected | undefined> {
    const out = await attempt(`update ${key.pk}/${key.sk}`, () =>
      this.doc.send(
        new UpdateCommand({ TableName: this.tableName, Key: key, ...expressions, ReturnValues: 'ALL_NEW' }),
      ),
    );
    if (out instanceof Rejected) return out;
    return out.Attributes;
  }

  /** Deletes one item (absent is fine). */
  async delete(key: ItemKey): Promise<void> {
    await this.must(`delete ${key.pk}/${key.sk}`, () =>
      this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: key })),
    );
  }

  /** Puts the item unless one with its key exists; false when it did. */
  async putIfAbsent(item: Item & ItemKey): Promise<boolean> {
    const out = await attempt(`put ${item.pk}/${item.sk}`, () =>
      this.doc.send(
        new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
      ),
    );
    return !(out instanceof Rejected);
  }

  /** Puts the item when `condition` holds; Rejected (with the reason code) when it did not or a transaction was in the way. */
  async putWhen(item: Item & ItemKey, condition: Condition): Promise<Rejected | undefined> {
    const out = await attempt(`put ${item.pk}/${item.sk}`, () =>
      this.doc.send(new PutCommand({ TableName: this.tableName, Item: item, ...condition })),
    );
    return out instanceof Rejected ? out : undefined;
  }

  /** Applies a patch under a guard; the new record, or Rejected carrying the item as it is now. */
  async update(key: ItemKey, patch: SlotPatch, guard: Guard): Promise<SlotRecord | Rejected> {
    const out = await attempt(`update ${key.pk}/${key.sk}`, () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          ...slotUpdate(patch, guard),
          ReturnValues: 'ALL_NEW',
          // Saves the re-read on a lost race: the caller decides again on the item as it is now.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    if (out instanceof Rejected) return out;
    return itemToRecord(out.Attributes ?? {});
  }

  /** One TransactWriteItems; undefined when it applied, Rejected with per-item reasons when it was cancelled. */
  async transact(what: string, items: TransactItems): Promise<Rejected | undefined> {
    const out = await attempt(what, () => this.doc.send(new TransactWriteCommand({ TransactItems: items })));
    return out instanceof Rejected ? out : undefined;
  }
}
