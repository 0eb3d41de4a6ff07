// The owed-completion outbox of the fake slot store: one item per token, with the adapter's update semantics
// (functions/lib/slots/completion.ts): first CONTINUE stays, ABANDON overrides, a lease excludes others, done is final.

import type { LifecycleRef } from '../../../functions/lib/domain/types.js';
import type { OwedCompletion } from '../../../functions/lib/ports.js';
import { owedKey } from '../../../functions/lib/slots/completion.js';

/** An item of the `lifecycle-actions` partition: any field may be missing (an update without a condition creates it). */
interface Item {
  ref?: LifecycleRef;
  result?: OwedCompletion['result'];
  backend?: string;
  after?: OwedCompletion['after'];
  status?: OwedCompletion['status'];
  leaseUntil?: number;
  expiresAt?: number;
}

/** The outbox items by token. */
export class FakeCompletions {
  private readonly items = new Map<string, Item>();

  constructor(private readonly now: () => number) {}

  private item(token: string): Item {
    owedKey(token);
    const item = this.items.get(token) ?? {};
    this.items.set(token, item);
    return item;
  }

  /** `oweUpdate`: no condition, so it never fails; what is there already mostly stays. */
  owe(o: Omit<OwedCompletion, 'status'>, untilEpochMs: number): void {
    const item = this.item(o.ref.token);
    const abandon = o.result === 'ABANDON';
    item.ref ??= structuredClone(o.ref);
    item.status ??= 'owed';
    item.expiresAt ??= Math.ceil(untilEpochMs / 1000);
    if (abandon || item.result === undefined) item.result = o.result;
    if (abandon || item.backend === undefined) item.backend = o.backend;
    if (abandon) item.after = o.after;
    else if (o.after) item.after ??= o.after;
    if (item.after === undefined) delete item.after;
  }

  /** The claim's `unsettledCheck` fails: an item for the token exists and has not expired (any write creates one). */
  live(token: string): boolean {
    owedKey(token);
    const item = this.items.get(token);
    return item !== undefined && !(item.expiresAt !== undefined && item.expiresAt <= Math.floor(this.now() / 1000));
  }

  owedOnes(): OwedCompletion[] {
    // The adapter's query returns the partition in sort-key order.
    return [...this.items.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .filter(([, i]) => i.status === 'owed')
      .map(([, i]) => fromItem(i));
  }

  lease(token: string, leaseMs: number): OwedCompletion | undefined {
    owedKey(token);
    const item = this.items.get(token);
    const now = this.now();
    if (item?.status !== 'owed' || (item.leaseUntil !== undefined && item.leaseUntil >= now)) return undefined;
    item.leaseUntil = now + leaseMs;
    return fromItem(item);
  }

  settle(token: string, done: boolean): void {
    const item = this.item(token);
    if (done) item.status = 'done';
    delete item.leaseUntil;
  }

  all(): OwedCompletion[] {
    return [...this.items.values()].filter((i) => i.ref !== undefined).map(fromItem);
  }
}

function fromItem(item: Item): OwedCompletion {
  return {
    ref: structuredClone(item.ref as LifecycleRef),
    result: item.result as OwedCompletion['result'],
    backend: String(item.backend),
    status: item.status as OwedCompletion['status'],
    ...(item.after ? { after: item.after } : {}),
  };
}
