// middy middleware for event-triggered handlers: a failure a redelivery cannot fix is acknowledged (logged, counted,
// answered), anything else is thrown so the event comes again. The decision is the one error → outcome map's.
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type middy from '@middy/core';
import { codeOf, eventDisposition } from './outcomes.js';
import { logger, metrics } from './runtime.js';

/** What an acknowledged failure answers. */
export interface Ignored {
  readonly ignored: string;
}

/** The middleware; register it before the parser and the config so their failures are mapped too. */
export function eventErrors(): middy.MiddlewareObj<unknown, unknown> {
  return {
    onError: (request) => {
      const error = request.error;
      if (eventDisposition(error) === 'retry') return;
      logger.error('event dropped: a redelivery cannot help', { code: codeOf(error), error: error as Error });
      metrics.addMetric('droppedEvents', MetricUnit.Count, 1);
      request.response = { ignored: codeOf(error) } satisfies Ignored;
    },
  };
}
