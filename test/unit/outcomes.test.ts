import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  HostUnreachableError,
  LifecycleActionGoneError,
  NoFreeSlotError,
  NotFoundError,
  PayloadTooLargeError,
  SignatureError,
  StoreUnavailableError,
  ValidationError,
} from '../../functions/lib/errors.js';
import { errorBody, eventDisposition, httpStatusFor } from '../../functions/shared/outcomes.js';

describe('error outcomes', () => {
  it.each([
    [new ValidationError('bad', [{ path: ['a'], message: 'x' }]), 400],
    [new SignatureError('bad signature'), 401],
    [new NotFoundError('no member'), 404],
    [new NoFreeSlotError('web'), 409],
    [new PayloadTooLargeError(300_000, 262_144), 413],
    [new HostUnreachableError('hap1', 'refused'), 502],
    [new StoreUnavailableError('throttled'), 503],
    [Object.assign(new Error('x'), { name: 'IdempotencyValidationError' }), 422],
    [new Error('a bug'), 500],
  ])('maps %s to HTTP %i', (error, status) => {
    expect(httpStatusFor(error)).toBe(status);
  });

  it('answers 504 DEADLINE_EXCEEDED when middy gives up before the deadline, saying the change may be in part', () => {
    // middy's timeoutEarlyResponse, as @middy/core builds it; the SDK's socket TimeoutError is not that.
    const middy = Object.assign(
      new Error('[AbortError]: The operation was aborted.', { cause: { package: '@middy/core' } }),
      {
        name: 'TimeoutError',
      },
    );
    expect(httpStatusFor(middy)).toBe(504);
    expect(eventDisposition(middy)).toBe('retry');
    const body = errorBody(middy);
    expect(body.error.code).toBe('DEADLINE_EXCEEDED');
    expect(body.error.message).toMatch(/may be recorded in part.*retry with the same webhook-id/);
    const socket = Object.assign(new Error('socket timed out'), { name: 'TimeoutError' });
    expect(httpStatusFor(socket)).toBe(500);
    expect(errorBody(socket)).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
  });

  it('never leaks the message of an unknown error into a response body', () => {
    expect(errorBody(new Error('secret=hunter2'))).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
  });

  it('returns zod issues for validation failures', () => {
    const body = errorBody(new ValidationError('bad', [{ path: ['member', 'port'], message: 'too big' }]));
    expect(body.error.issues).toEqual([{ path: ['member', 'port'], message: 'too big' }]);
  });

  it('acks malformed events and gone lifecycle actions, retries everything else', () => {
    expect(eventDisposition(new ValidationError('bad', []))).toBe('ack');
    expect(eventDisposition(new LifecycleActionGoneError('gone'))).toBe('ack');
    expect(eventDisposition(new ConfigError('bad config'))).toBe('retry');
    expect(eventDisposition(new Error('network'))).toBe('retry');
  });
});
