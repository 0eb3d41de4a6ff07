// Fault suite: DynamoDB failures injected into a real client's middleware stack (the request never reaches the table).
import {
  type DynamoDBClient,
  ProvisionedThroughputExceededException,
  ThrottlingException,
  TransactionCanceledException,
  TransactionConflictException,
} from '@aws-sdk/client-dynamodb';

/** Fractions (0..1) of calls that fail, and the randomness that picks them. */
export interface FaultPlan {
  /** Any call: ThrottlingException or ProvisionedThroughputExceededException (the SDK retries these itself). */
  readonly throttle: number;
  /** TransactWriteItems: cancelled with a TransactionConflict reason on one of its items (the store decides again). */
  readonly transactionConflict: number;
  /** UpdateItem: TransactionConflictException, as when a transaction holds the item (the store decides again). */
  readonly writeConflict: number;
  readonly random: () => number;
}

/** What happened so far; `enabled` switches injection on and off (counting goes on). */
export interface FaultCounters {
  enabled: boolean;
  /** Calls as the store made them (before the SDK's retry loop), per command name. */
  readonly calls: Record<string, number>;
  /** Attempts inside the SDK's retry loop, per command name: more than `calls` means the SDK retried. */
  readonly attempts: Record<string, number>;
  readonly injected: { throttle: number; transactionConflict: number; writeConflict: number };
}

const bump = (record: Record<string, number>, key: string) => {
  record[key] = (record[key] ?? 0) + 1;
};

/**
 * Adds two middlewares: a counter in the initialize step (once per call) and the injector in the deserialize step,
 * which runs inside the SDK's retry loop (finalizeRequest), so throttling is retried by the SDK exactly as a real
 * 400 ThrottlingException would be, and what is not retryable reaches the store as it would from the service.
 */
export function injectDynamoDbFaults(client: DynamoDBClient, plan: FaultPlan): FaultCounters {
  const counters: FaultCounters = {
    enabled: true,
    calls: {},
    attempts: {},
    injected: { throttle: 0, transactionConflict: 0, writeConflict: 0 },
  };
  const $metadata = { httpStatusCode: 400 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      bump(counters.calls, context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: 'faultCallCounter' },
  );
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? '?';
      bump(counters.attempts, command);
      if (!counters.enabled) return next(args);
      if (plan.random() < plan.throttle) {
        counters.injected.throttle++;
        const message = 'Rate of requests exceeds the allowed throughput (injected)';
        throw counters.injected.throttle % 2
          ? new ThrottlingException({ $metadata, message })
          : new ProvisionedThroughputExceededException({ $metadata, message });
      }
      const input = args.input as { TransactItems?: unknown[] };
      if (command === 'TransactWriteItemsCommand' && plan.random() < plan.transactionConflict) {
        counters.injected.transactionConflict++;
        const items = input.TransactItems?.length ?? 1;
        const loser = Math.floor(plan.random() * items);
        const CancellationReasons = Array.from({ length: items }, (_, i) =>
          i === loser
            ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }
            : { Code: 'None' },
        );
        throw new TransactionCanceledException({
          $metadata,
          message: 'Transaction cancelled, please refer cancellation reasons for specific reasons (injected)',
          CancellationReasons,
        });
      }
      if (command === 'UpdateItemCommand' && plan.random() < plan.writeConflict) {
        counters.injected.writeConflict++;
        throw new TransactionConflictException({
          $metadata,
          message: 'Transaction is ongoing for the item (injected)',
        });
      }
      return next(args);
    },
    { step: 'deserialize', name: 'faultInjector', priority: 'high' },
  );
  return counters;
}
