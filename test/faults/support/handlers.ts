// Fault suite: the real Lambda handlers in-process against DynamoDB Local, and EventBridge-style redelivery on failure.
import type { Context } from 'aws-lambda';
import { createFleet } from '../../../functions/lib/haproxy/fleet.js';
import { DynamoDbSlotStore } from '../../../functions/lib/slots/dynamodb-store.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../../support/dynamodb-local.js';
import { handlerEnv, lambdaContext } from '../../support/lambda.js';

/** A handler as the Lambda runtime calls it. */
export type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** Handlers, the table they write and a fleet client of our own to look at the hosts. */
export interface HandlerHarness {
  readonly ddb: DynamoDbLocal;
  readonly store: DynamoDbSlotStore;
  readonly fleet: ReturnType<typeof createFleet>;
  readonly lifecycle: Handler;
  readonly reconcile: Handler;
  close(): Promise<void>;
}

/**
 * Creates the tables, sets the functions' environment and imports the handlers AFTER that (they read env once per
 * module instance; vitest's forks pool gives each test file its own).
 */
export async function startHandlers(prefix: string, config: Record<string, unknown>): Promise<HandlerHarness> {
  const ddb = await connectDynamoDbLocal();
  const tables = await ddb.createTables(`${prefix}${Date.now()}`);
  handlerEnv({ dynamoPort: ddb.port, slotTable: tables.slotTable, idempotencyTable: tables.idempotencyTable, config });
  const hosts = config.hosts as Parameters<typeof createFleet>[0]['hosts'];
  return {
    ddb,
    store: new DynamoDbSlotStore({ tableName: tables.slotTable, client: ddb.client }),
    fleet: createFleet({ hosts, timeouts: { connectMs: 1_000, commandMs: 5_000 } }),
    lifecycle: (await import('../../../functions/lifecycle/handler.js')).handler as unknown as Handler,
    reconcile: (await import('../../../functions/reconcile/handler.js')).handler as unknown as Handler,
    async close() {
      ddb.client.destroy();
      await ddb.stop();
    },
  };
}

/** What one delivery ended with, and how many attempts it took. */
export interface Delivery<T> {
  readonly result: T;
  readonly attempts: number;
  readonly errors: readonly string[];
}

/**
 * Invokes until the call resolves, as EventBridge redelivers an event whose invocation threw (bounded, with a short
 * backoff between attempts so a busy store or a duplicate still in progress can move on).
 */
export async function deliver<T>(invoke: () => Promise<T>, maxAttempts = 8): Promise<Delivery<T>> {
  const errors: string[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      return { result: await invoke(), attempts: attempt, errors };
    } catch (error) {
      errors.push(`${(error as Error).name}: ${(error as Error).message}`);
      if (attempt >= maxAttempts) throw new Error(`gave up after ${attempt} deliveries: ${errors.join(' | ')}`);
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

/** Delivers a lifecycle event to the handler with a fresh context of `remainingMs`, redelivering on failure. */
export function deliverEvent(handler: Handler, event: unknown, remainingMs = 30_000): Promise<Delivery<unknown>> {
  return deliver(() => handler(event, lambdaContext(remainingMs)));
}

/**
 * Invokes the reconcile handler pass after pass (the schedule, sped up) until `done()` says so or `timeoutMs` passes.
 * `afterPass` runs after every pass and may throw: that fails the caller at once, unlike a waitFor predicate.
 */
export async function reconcileUntil(
  h: Pick<HandlerHarness, 'reconcile'>,
  done: () => Promise<boolean>,
  afterPass: () => Promise<void> | void,
  options: { timeoutMs: number; intervalMs?: number; what: string },
): Promise<number> {
  const deadline = Date.now() + options.timeoutMs;
  for (let passes = 1; ; passes++) {
    await h.reconcile({}, lambdaContext());
    await afterPass();
    if (await done()) return passes;
    if (Date.now() > deadline) throw new Error(`timed out after ${options.timeoutMs}ms waiting for ${options.what}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200));
  }
}
