// Lambda entry: HTTP API `POST /hooks/deploy` — signed member changes from deploy tools.

import { IdempotencyConfig } from '@aws-lambda-powertools/idempotency';
import { makeHandlerIdempotent } from '@aws-lambda-powertools/idempotency/middleware';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { NothingAppliedError } from '../lib/errors.js';
import { applyDeploy, type DeployOutcome } from '../lib/services/deploy-changes.js';
import { configMiddlewares, type SlotSyncContext } from '../shared/config-middleware.js';
import { workUntil } from '../shared/deadline.js';
import { idempotencyStore, logger, metrics, plainJson } from '../shared/runtime.js';
import { httpResponses, json, refusalResponse } from './responses.js';
import { type WebhookEvent, webhookEventSchema } from './schema.js';
import { verifyWebhook } from './verify.js';

// The HTTP API gives up after 29 s, whatever the function's timeout: work at most this long.
const WEBHOOK_WORK_MS = 17_000;

/** Signature (401), size (413), body (400), then the change: 200 / 400 / 404 / 409 / 502, once per request key. */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, SlotSyncContext>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .use(httpResponses())
  .use(httpHeaderNormalizer())
  .use(configMiddlewares({ webhookSecret: true }))
  .use(verifyWebhook())
  .use(parser({ schema: webhookEventSchema }) as unknown as middy.MiddlewareObj<APIGatewayProxyEventV2>)
  .use(
    makeHandlerIdempotent({
      persistenceStore: idempotencyStore('webhook'),
      config: new IdempotencyConfig({
        eventKeyJmesPath: 'slotSync.key',
        payloadValidationJmesPath: 'slotSync.bodyHash',
        expiresAfterSeconds: 3600,
      }),
    }),
  )
  .handler(async (event, context) => {
    const { body } = event as unknown as WebhookEvent;
    const until = Math.min(
      workUntil(context.getRemainingTimeInMillis(), context.config.timeouts),
      Date.now() + WEBHOOK_WORK_MS,
    );
    let outcome: DeployOutcome;
    try {
      outcome = plainJson(await applyDeploy(body, context.config, context.deps, { until }));
    } catch (error) {
      const refused = refusalResponse(error);
      if (refused) return refused;
      throw error;
    }
    // Thrown, not answered: the idempotency record is dropped, so the caller may simply try again.
    if (outcome.nothingApplied) throw new NothingAppliedError(outcome.results);
    return json(200, outcome);
  });
