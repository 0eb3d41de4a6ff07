// Webhook trigger, between handler and service: verified, parsed request → deploy changes, once per idempotency key.
import { createHash } from 'node:crypto';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { Context } from 'aws-lambda';
import type { ConfigDocument } from '../lib/config.js';
import { applyDeploy, type DeployOutcome } from '../lib/services/deploy-changes.js';
import type { ServiceDeps } from '../lib/services/deps.js';
import { idempotencyStore, plainJson, workUntil } from '../shared/runtime.js';
import type { WebhookRequest } from './schema.js';

interface Payload {
  readonly key: string;
  /** A reused key with a different body is refused instead of answered with the first body's result. */
  readonly bodyHash: string;
  readonly request: WebhookRequest;
}

// The HTTP API gives up after 29 s; leave room to answer.
const WEBHOOK_BUDGET_MS = 20_000;
const idemConfig = new IdempotencyConfig({
  eventKeyJmesPath: 'key',
  payloadValidationJmesPath: 'bodyHash',
  expiresAfterSeconds: 3600,
});
let idempotent:
  | ((payload: Payload, config: ConfigDocument, deps: ServiceDeps, context: Context) => Promise<DeployOutcome>)
  | undefined;

/** Applies the request at most once per key: the Idempotency-Key header, else the signature (a replayed request). */
export function runDeploy(
  key: string,
  rawBody: string,
  request: WebhookRequest,
  config: ConfigDocument,
  deps: ServiceDeps,
  context: Context,
): Promise<DeployOutcome> {
  idemConfig.registerLambdaContext(context);
  idempotent ??= makeIdempotent(
    async (payload: Payload, cfg: ConfigDocument, d: ServiceDeps, ctx: Context) =>
      plainJson(
        await applyDeploy(payload.request, cfg, d, {
          until: workUntil(Math.min(ctx.getRemainingTimeInMillis(), WEBHOOK_BUDGET_MS)),
        }),
      ),
    { persistenceStore: idempotencyStore(), config: idemConfig, dataIndexArgument: 0 },
  );
  const bodyHash = createHash('sha256').update(rawBody).digest('hex');
  return idempotent({ key, bodyHash, request }, config, deps, context);
}
