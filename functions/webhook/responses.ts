// Webhook edge, middy middleware: every outcome as a JSON response (errors through the one error → status map), timed.
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type middy from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { codeOf, errorBody, httpStatusFor } from '../shared/outcomes.js';
import { logger, metrics } from '../shared/runtime.js';

/** A JSON response. */
export function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/**
 * A change the service refused (a 4xx: unknown backend or member, no free slot, a member leaving, a refused address)
 * as a response instead of an error, so the idempotency layer records it: a replay of the request answers the same
 * refusal instead of running again against a newer state (a captured `deregister` refused now must not apply later).
 * Undefined for anything else (5xx: nothing was applied, the record is dropped and a retry may run).
 */
export function refusalResponse(error: unknown): APIGatewayProxyStructuredResultV2 | undefined {
  const status = httpStatusFor(error);
  if (status < 400 || status >= 500) return undefined;
  logger.warn('webhook refused', { code: codeOf(error), status, error: error as Error });
  return json(status, errorBody(error));
}

const STARTED = Symbol('started');

/** The middleware; register it first after logging so its `onError` runs after every other one (idempotency's). */
export function httpResponses(): middy.MiddlewareObj<unknown, APIGatewayProxyStructuredResultV2> {
  const count = (request: middy.Request<unknown, APIGatewayProxyStructuredResultV2>) => {
    const started = (request.internal as Record<symbol, number>)[STARTED] ?? Date.now();
    const status = request.response?.statusCode ?? 500;
    metrics.addMetric('webhookLatency', MetricUnit.Milliseconds, Date.now() - started);
    metrics.addMetric(`webhook${Math.floor(status / 100)}xx`, MetricUnit.Count, 1);
  };
  return {
    before: (request) => {
      (request.internal as Record<symbol, number>)[STARTED] = Date.now();
    },
    after: count,
    onError: (request) => {
      const error = request.error;
      const status = httpStatusFor(error);
      (status >= 500 ? logger.error : logger.warn).call(logger, 'webhook refused', {
        code: codeOf(error),
        status,
        error: error as Error,
      });
      request.response = json(status, errorBody(error));
      count(request);
    },
  };
}
