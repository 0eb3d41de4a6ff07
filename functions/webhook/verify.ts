// Webhook edge, middy middleware: signature (401) and size (413) before anything else, then the request's
// canonical idempotency key and body hash on the event for the parser and the idempotency layer.
import { createHash } from 'node:crypto';
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { PayloadTooLargeError, SignatureRejectedError } from '../lib/errors.js';
import type { SlotSyncContext } from '../shared/config-middleware.js';
import { MAX_BODY_BYTES } from './schema.js';
import { SIGNATURE_HEADER, verifySignature } from './signature.js';
import { STANDARD_HEADERS, verifyStandardSignature } from './standard-signature.js';

/** What this middleware adds to the event. */
export interface VerifiedRequest {
  /**
   * The idempotency key, from what was signed only: the `webhook-id` (Standard Webhooks), or for the deprecated
   * `X-Slot-Sync-Signature` the timestamp and a digest of the signed text. Never an unsigned header (an
   * `Idempotency-Key` is ignored: a replay could pick a fresh one and run again).
   */
  readonly key: string;
  /** sha256 of the raw body: a key reused with another body is refused (422), not answered with the first result. */
  readonly bodyHash: string;
}

/** The raw body as signed (the HTTP API base64-encodes binary bodies). */
export function rawBodyOf(event: APIGatewayProxyEventV2): string {
  return event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
}

const given = (value: string | undefined) => value !== undefined && value.trim() !== '';

/**
 * Which scheme signed the request, and its canonical key. A request carrying both is refused: a captured one could
 * otherwise be replayed once per scheme (strip one set of headers, get a second key).
 */
export function verifyRequest(
  headers: Readonly<Record<string, string | undefined>>,
  rawBody: string,
  secrets: readonly string[],
  now: number,
): { readonly scheme: 'standard' | 'legacy'; readonly key: string } {
  const standard = Object.values(STANDARD_HEADERS).some((h) => given(headers[h]));
  if (standard && given(headers[SIGNATURE_HEADER])) {
    throw new SignatureRejectedError('malformed', `both webhook-signature and ${SIGNATURE_HEADER}: send one scheme`);
  }
  if (standard) {
    const { id, timestamp, signature } = STANDARD_HEADERS;
    const signed = verifyStandardSignature({
      headers: { id: headers[id], timestamp: headers[timestamp], signature: headers[signature] },
      rawBody,
      secrets,
      now,
    });
    return { scheme: 'standard', key: signed.key };
  }
  return { scheme: 'legacy', key: verifySignature({ header: headers[SIGNATURE_HEADER], rawBody, secrets, now }).key };
}

/** The middleware; after the header normalizer and the config (it needs the secret). */
export function verifyWebhook(): middy.MiddlewareObj<APIGatewayProxyEventV2, unknown, Error, SlotSyncContext> {
  return {
    before: (request) => {
      const event = request.event;
      const rawBody = rawBodyOf(event);
      // Several secrets, one per line, while a secret is being rotated; `whsec_` ones also sign Standard Webhooks.
      const secrets = String(request.context.webhookSecret ?? '')
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean);
      const signed = verifyRequest(event.headers ?? {}, rawBody, secrets, Math.floor(Date.now() / 1000));
      const size = Buffer.byteLength(rawBody, 'utf8');
      if (size > MAX_BODY_BYTES) throw new PayloadTooLargeError(size, MAX_BODY_BYTES);
      const slotSync: VerifiedRequest = {
        key: signed.key,
        bodyHash: createHash('sha256').update(rawBody).digest('hex'),
      };
      // The parser validates a decoded body; the signature was checked on the raw one above.
      request.event = { ...event, body: rawBody, isBase64Encoded: false, slotSync } as APIGatewayProxyEventV2;
    },
  };
}
