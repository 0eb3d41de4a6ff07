// SlotStore on DynamoDB (DESIGN §5): one partition per backend, slot items plus member items, optimistic versions.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LifecycleRef, Member, SlotRecord } from '../domain.js';
import { InvalidArgumentError, NotFoundError, SlotConflictError } from '../errors.js';
import { type AdminState, validName, validState, validWeight } from '../haproxy/commands.js';
import type { SlotStore } from '../ports.js';
import { claimSlot } from './claim.js';
import { memberKey, naturalCompare, slotKey } from './keys.js';
import { itemToRecord } from './mapping.js';
import { isMemberRetired, retireMember } from './retired.js';
import { Rejected } from './sdk-errors.js';
import { SlotTableIo } from './table-io.js';
import { activePatch, drainPatch, holdPatch, releasePatch, unholdPatch } from './transitions.js';
import { type SlotPatch, slotUpdate } from './update-expression.js';

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

/** The DynamoDB adapter of the SlotStore port. */
export class DynamoDbSlotStore implements SlotStore {
  private readonly table: SlotTableIo;
  private readonly random: () => number;
  private readonly maxAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(options: DynamoDbSlotStoreOptions) {
    const client = options.client ?? new DynamoDBClient({});
    const doc = client instanceof DynamoDBDocumentClient ? client : DynamoDBDocumentClient.from(client);
    this.table = new SlotTableIo(doc, options.tableName);
    this.random = options.random ?? Math.random;
    this.maxAttempts = options.maxAttempts ?? 100;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
  }

  async seed(backend: string, slotNames: readonly string[]): Promise<{ readonly created: readonly string[] }> {
    // Validate every name before the first write: bad input changes nothing.
    const keys = [...new Set(slotNames)].map((name) => ({ name, key: slotKey(backend, name) }));
    const created: string[] = [];
    for (let i = 0; i < keys.length; i += SEED_CONCURRENCY) {
      const batch = keys.slice(i, i + SEED_CONCURRENCY);
      const done = await Promise.all(
        batch.map(({ key, name }) => this.table.putIfAbsent({ ...key, slot: name, state: 'free', version: 1 })),
      );
      for (const [j, { name }] of batch.entries()) if (done[j]) created.push(name);
    }
    return { created: created.sort(naturalCompare) };
  }

  async claim(backend: string, member: Member, weight: number): Promise<SlotRecord> {
    return claimSlot(
      {
        table: this.table,
        random: this.random,
        sleep: this.sleep,
        maxAttempts: this.maxAttempts,
        now: this.now,
        findByMember: (b, m) => this.findByMember(b, m),
        isRetired: (b, m) => this.isRetired(b, m),
      },
      backend,
      member,
      weight,
    );
  }

  async findByMember(backend: string, memberId: string): Promise<SlotRecord | undefined> {
    const slot = await this.table.memberSlot(backend, memberId);
    if (slot === undefined) return undefined;
    const record = await this.table.slot(backend, slot);
    // Both items change in one transaction; a mismatch only means a release landed between the two reads.
    return record?.member === memberId ? record : undefined;
  }

  async markDraining(
    backend: string,
    memberId: string,
    deadline: number,
    lifecycle?: LifecycleRef,
  ): Promise<SlotRecord> {
    if (!Number.isSafeInteger(deadline) || deadline < 0)
      throw new InvalidArgumentError('deadline', deadline, 'must be epoch milliseconds');
    return this.mutateOwned(backend, memberId, (r) => drainPatch(r, deadline, lifecycle));
  }

  async markActive(backend: string, memberId: string): Promise<SlotRecord> {
    return this.mutateOwned(backend, memberId, activePatch);
  }

  async setWeight(backend: string, memberId: string, weight: number): Promise<SlotRecord> {
    validWeight(weight);
    return this.mutateOwned(backend, memberId, (r) => (r.weight === weight ? undefined : { set: { weight } }));
  }

  async release(backend: string, memberId: string): Promise<boolean> {
    const mKey = memberKey(backend, memberId);
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const owned = await this.findByMember(backend, memberId);
      if (!owned) return false;
      const rejected = await this.table.transact(`release ${backend}/${owned.slot} of ${memberId}`, [
        {
          Update: {
            TableName: this.table.tableName,
            Key: slotKey(backend, owned.slot),
            ...slotUpdate(releasePatch(owned), { member: memberId, version: owned.version }),
          },
        },
        {
          Delete: {
            TableName: this.table.tableName,
            Key: mKey,
            ConditionExpression: '#slot = :slot',
            ExpressionAttributeNames: { '#slot': 'slot' },
            ExpressionAttributeValues: { ':slot': owned.slot },
          },
        },
      ]);
      if (!rejected) return true;
    }
    throw new SlotConflictError(`release of ${memberId} in ${backend} lost ${this.maxAttempts} races in a row`);
  }

  async hold(backend: string, slot: string, admin: AdminState): Promise<SlotRecord> {
    validState(admin);
    return this.mutateSlot(backend, slot, (r) => holdPatch(r, admin));
  }

  async unhold(backend: string, slot: string): Promise<SlotRecord> {
    return this.mutateSlot(backend, slot, unholdPatch);
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

  private mutateOwned(
    backend: string,
    memberId: string,
    decide: (r: SlotRecord) => SlotPatch | undefined,
  ): Promise<SlotRecord> {
    memberKey(backend, memberId); // validates both names before any read
    return this.mutate(
      () => this.findByMember(backend, memberId),
      (current) => current?.member === memberId,
      () => new NotFoundError(`member ${memberId} has no slot in backend ${backend}`),
      decide,
      (r) => ({ version: r.version, member: memberId }),
    );
  }

  private mutateSlot(
    backend: string,
    slot: string,
    decide: (r: SlotRecord) => SlotPatch | undefined,
  ): Promise<SlotRecord> {
    slotKey(backend, slot);
    return this.mutate(
      () => this.table.slot(backend, slot),
      (current) => current !== undefined,
      () => new NotFoundError(`slot ${slot} does not exist in backend ${backend}`),
      decide,
      (r) => ({ version: r.version }),
    );
  }

  /** Read, decide, conditional write on the version; a lost race decides again on the item the failure returned. */
  private async mutate(
    load: () => Promise<SlotRecord | undefined>,
    stillOurs: (current: SlotRecord | undefined) => boolean,
    notFound: () => Error,
    decide: (r: SlotRecord) => SlotPatch | undefined,
    guard: (r: SlotRecord) => { version: number; member?: string },
  ): Promise<SlotRecord> {
    let current = await load();
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      if (!current || !stillOurs(current)) throw notFound();
      const patch = decide(current);
      if (!patch) return current;
      const out = await this.table.update(slotKey(current.backend, current.slot), patch, guard(current));
      if (!(out instanceof Rejected)) return out;
      current = out.item ? itemToRecord(out.item) : undefined;
      if (!stillOurs(current)) current = await load();
      if (attempt > 0) await this.sleep(Math.floor(this.random() * 20));
    }
    throw new SlotConflictError(`update lost ${this.maxAttempts} races in a row`);
  }
}
