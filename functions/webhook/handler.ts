// Lambda entry: HTTP API `POST /hooks/deploy` — HMAC-signed member changes from deploy tools.

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { configMiddlewares, type SlotSyncContext } from '../shared/config-middleware.js';
import { codeOf, errorBody, httpStatusFor } from '../shared/outcomes.js';
import { logger, metrics } from '../shared/runtime.js';
import { runDeploy } from './run.js';
import { parseIdempotencyKey, parseWebhookBody } from './schema.js';
import { SIGNATURE_HEADER, verifySignature } from './signature.js';

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** Signature first (401), then body (413/400), then the change itself (200 / 404 / 409 / 502). */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, SlotSyncContext>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .use(httpHeaderNormalizer())
  .use(configMiddlewares({ webhookSecret: true }))
  .handler(async (event, context) => {
    const started = Date.now();
    const respond = (status: number, body: unknown) => {
      metrics.addMetric('webhookLatency', MetricUnit.Milliseconds, Date.now() - started);
      metrics.addMetric(`webhook${Math.floor(status / 100)}xx`, MetricUnit.Count, 1);
      return json(status, body);
    };
    try {
      const rawBody = event.isBase64Encoded
        ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
        : (event.body ?? '');
      const header = event.headers?.[SIGNATURE_HEADER];
      // Several secrets, one per line, while a secret is being rotated.
      const secrets = String(context.webhookSecret ?? '')
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean);
      verifySignature({ header, rawBody, secrets, now: Math.floor(Date.now() / 1000) });
      const request = parseWebhookBody(rawBody);
      const key = parseIdempotencyKey(event.headers?.['idempotency-key']) ?? `sig:${header}`;
      const outcome = await runDeploy(key, rawBody, request, context.config, context.deps, context);
      return respond(outcome.nothingApplied ? 502 : 200, outcome);
    } catch (error) {
      const status = httpStatusFor(error);
      (status >= 500 ? logger.error : logger.warn).call(logger, 'webhook refused', {
        code: codeOf(error),
        status,
        error: error as Error,
      });
      return respond(status, errorBody(error));
    }
  });
