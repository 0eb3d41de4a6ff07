// SlotStore on DynamoDB (DESIGN §5): one partition per backend, slot items plus member items, optimistic versions.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SlotEvent } from '../domain/lifecycle.js';
import type { Member, SlotRecord } from '../domain/types.js';
import { validName } from '../domain/values.js';
import type { Applied, Claimed, OwedCompletion, SlotAddress, SlotStore } from '../ports.js';
import { applyEvent } from './apply.js';
import { type ClaimInit, claimSlot } from './claim.js';
import {
  isSettled,
  leaseCompletion,
  oweAndLease,
  oweCompletion,
  owedCompletions,
  settleCompletion,
} from './completion.js';
import { FreeSlots } from './free-slots.js';
import { naturalCompare, slotKey } from './keys.js';
import { itemToRecord } from './mapping.js';
import { isMemberRetired, retireMember } from './retired.js';
import { SlotTableIo } from './table-io.js';

/** Options of DynamoDbSlotStore; everything but the table name has a production default. */
export interface DynamoDbSlotStoreOptions {
  readonly tableName: string;
  /** A document client is used as is; a bare DynamoDBClient is wrapped. Default: a client from the environment. */
  readonly client?: DynamoDBDocumentClient | DynamoDBClient;
  /** Picks the free slot and the backoff jitter (tests inject a seeded one). */
  readonly random?: () => number;
  /** Conditional-write attempts per call before SlotConflictError (default 100: races make progress, so this is rarely near). */
  readonly maxAttempts?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Epoch ms now, for the expiry of retirements (default Date.now). */
  readonly now?: () => number;
}

const SEED_CONCURRENCY = 16;
// An owed completion outlives any lifecycle action (48 h at most), then TTL removes it.
export const OWED_FOR_MS = 48 * 3600 * 1000;

/** The DynamoDB adapter of the SlotStore port. */
export class DynamoDbSlotStore implements SlotStore {
  private readonly table: SlotTableIo;
  private readonly random: () => number;
  private readonly maxAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  /** Free slots as last read, shared by this store's claims, and the stripe it takes from (free-slots.ts). */
  private readonly free: FreeSlots;

  constructor(options: DynamoDbSlotStoreOptions) {
    const client = options.client ?? new DynamoDBClient({});
    const doc = client instanceof DynamoDBDocumentClient ? client : DynamoDBDocumentClient.from(client);
    this.table = new SlotTableIo(doc, options.tableName);
    this.random = options.random ?? Math.random;
    this.maxAttempts = options.maxAttempts ?? 100;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
    this.free = new FreeSlots(this.random);
  }

  async seed(
    backend: string,
    slotNames: readonly string[],
    options: { readonly dynamic?: boolean } = {},
  ): Promise<{ readonly created: readonly string[] }> {
    // Validate every name before the first write: bad input changes nothing.
    const keys = [...new Set(slotNames)].map((name) => ({ name, key: slotKey(backend, name) }));
    const created: string[] = [];
    for (let i = 0; i < keys.length; i += SEED_CONCURRENCY) {
      const batch = keys.slice(i, i + SEED_CONCURRENCY);
      const done = await Promise.all(
        batch.map(({ key, name }) =>
          this.table.putIfAbsent({
            ...key,
            slot: name,
            state: 'free',
            version: 1,
            ...(options.dynamic ? { dynamic: true } : {}),
          }),
        ),
      );
      for (const [j, { name }] of batch.entries()) if (done[j]) created.push(name);
    }
    return { created: created.sort(naturalCompare) };
  }

  async claim(backend: string, member: Member, init: ClaimInit): Promise<Claimed> {
    return claimSlot(
      {
        table: this.table,
        random: this.random,
        sleep: this.sleep,
        maxAttempts: this.maxAttempts,
        now: this.now,
        findByMember: (b, m) => this.findByMember(b, m),
        isRetired: (b, m) => this.isRetired(b, m),
        isSettled: (token) => this.isSettled(token),
        free: this.free,
      },
      backend,
      member,
      init,
    );
  }

  async findByMember(backend: string, memberId: string): Promise<SlotRecord | undefined> {
    const slot = await this.table.memberSlot(backend, memberId);
    if (slot === undefined) return undefined;
    const record = await this.table.slot(backend, slot);
    // Both items change in one transaction; a mismatch only means a release landed between the two reads.
    return record?.member === memberId ? record : undefined;
  }

  async get(backend: string, slot: string): Promise<SlotRecord | undefined> {
    slotKey(backend, slot);
    return this.table.slot(backend, slot);
  }

  async getMany(backend: string, slots: readonly string[]): Promise<readonly SlotRecord[]> {
    // Every name checked before the request: a bad one fails the read, never half of it.
    for (const slot of slots) slotKey(backend, slot);
    return this.table.slots(backend, slots, this.sleep, this.random);
  }

  async apply(backend: string, at: SlotAddress, event: SlotEvent): Promise<Applied> {
    return applyEvent(
      {
        table: this.table,
        maxAttempts: this.maxAttempts,
        random: this.random,
        sleep: this.sleep,
        owedUntil: () => this.now() + OWED_FOR_MS,
        findByMember: (b, m) => this.findByMember(b, m),
      },
      backend,
      at,
      event,
    );
  }

  async list(backend: string): Promise<readonly SlotRecord[]> {
    validName('backend', backend);
    const records = (await this.table.slotItems(backend)).map(itemToRecord);
    return records.sort((a, b) => naturalCompare(a.slot, b.slot));
  }

  async retire(backend: string, memberId: string, untilEpochMs: number): Promise<void> {
    return retireMember(this.table, backend, memberId, untilEpochMs, this.maxAttempts);
  }

  async isRetired(backend: string, memberId: string): Promise<boolean> {
    return isMemberRetired(this.table, backend, memberId, this.now());
  }

  async isSettled(token: string): Promise<boolean> {
    return isSettled(this.table, token, this.now());
  }

  async owe(completion: Omit<OwedCompletion, 'status'>): Promise<void> {
    await oweCompletion(this.table, completion, this.now() + OWED_FOR_MS);
  }

  async owedCompletions(): Promise<readonly OwedCompletion[]> {
    return owedCompletions(this.table);
  }

  async leaseCompletion(token: string, leaseMs: number): Promise<OwedCompletion | undefined> {
    return leaseCompletion(this.table, token, this.now(), leaseMs);
  }

  async oweAndLease(completion: Omit<OwedCompletion, 'status'>, leaseMs: number): Promise<OwedCompletion | undefined> {
    const now = this.now();
    return oweAndLease(this.table, completion, now + OWED_FOR_MS, now, leaseMs);
  }

  async settleCompletion(token: string, done: boolean): Promise<void> {
    return settleCompletion(this.table, token, done);
  }
}
