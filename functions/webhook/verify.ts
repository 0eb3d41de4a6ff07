// Webhook edge, middy middleware: signature (401) and size (413) before anything else, then the request's
// canonical idempotency key and body hash on the event for the parser and the idempotency layer.
import { createHash } from 'node:crypto';
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { PayloadTooLargeError } from '../lib/errors.js';
import type { SlotSyncContext } from '../shared/config-middleware.js';
import { MAX_BODY_BYTES, parseIdempotencyKey } from './schema.js';
import { SIGNATURE_HEADER, verifySignature } from './signature.js';

/** What this middleware adds to the event. */
export interface VerifiedRequest {
  /** The idempotency key: the caller's `Idempotency-Key`, else the canonical signature key (never the header text). */
  readonly key: string;
  /** sha256 of the raw body: a key reused with another body is refused (422), not answered with the first result. */
  readonly bodyHash: string;
}

/** The raw body as signed (the HTTP API base64-encodes binary bodies). */
export function rawBodyOf(event: APIGatewayProxyEventV2): string {
  return event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
}

/** The middleware; after the header normalizer and the config (it needs the secret). */
export function verifyWebhook(): middy.MiddlewareObj<APIGatewayProxyEventV2, unknown, Error, SlotSyncContext> {
  return {
    before: (request) => {
      const event = request.event;
      const rawBody = rawBodyOf(event);
      // Several secrets, one per line, while a secret is being rotated.
      const secrets = String(request.context.webhookSecret ?? '')
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean);
      const signed = verifySignature({
        header: event.headers?.[SIGNATURE_HEADER],
        rawBody,
        secrets,
        now: Math.floor(Date.now() / 1000),
      });
      const size = Buffer.byteLength(rawBody, 'utf8');
      if (size > MAX_BODY_BYTES) throw new PayloadTooLargeError(size, MAX_BODY_BYTES);
      const explicit = parseIdempotencyKey(event.headers?.['idempotency-key']);
      const slotSync: VerifiedRequest = {
        key: explicit ? `key:${explicit}` : signed.key,
        bodyHash: createHash('sha256').update(rawBody).digest('hex'),
      };
      // The parser validates a decoded body; the signature was checked on the raw one above.
      request.event = { ...event, body: rawBody, isBase64Encoded: false, slotSync } as APIGatewayProxyEventV2;
    },
  };
}
