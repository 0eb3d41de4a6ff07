// Test shorthand for the webhook: an HTTP API v2 event for a body, signed the way a deploy tool signs it.
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { signBody } from '../../functions/webhook/signature.js';
import { SECRET_PREFIX, standardHeaders } from '../../functions/webhook/standard-signature.js';

/** How to sign: Standard Webhooks (a fresh `webhook-id` unless given) or the deprecated `X-Slot-Sync-Signature`. */
export interface SignOptions {
  /** Default: `standard` for a `whsec_` secret, `legacy` for any other (it cannot sign Standard Webhooks). */
  readonly scheme?: 'standard' | 'legacy';
  readonly id?: string;
  /** Unix seconds; default now. */
  readonly t?: number;
}

/** The signature headers for `text`, signed with `secret`. */
export function signatureHeaders(text: string, secret: string, options: SignOptions = {}): Record<string, string> {
  const t = options.t ?? Math.floor(Date.now() / 1000);
  const scheme = options.scheme ?? (secret.startsWith(SECRET_PREFIX) ? 'standard' : 'legacy');
  if (scheme === 'legacy') return { 'X-Slot-Sync-Signature': signBody(secret, text, t) };
  const headers = standardHeaders(secret, text, options.id ?? `msg_${randomUUID()}`, t);
  return {
    'Webhook-Id': headers['webhook-id'],
    'Webhook-Timestamp': headers['webhook-timestamp'],
    'Webhook-Signature': headers['webhook-signature'],
  };
}

/** A bare `POST /hooks/deploy` event with exactly these headers. */
export function rawWebhookEvent(text: string, headers: Record<string, string>): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /hooks/deploy',
    rawPath: '/hooks/deploy',
    rawQueryString: '',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: text,
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST', path: '/hooks/deploy' } } as APIGatewayProxyEventV2['requestContext'],
  } as APIGatewayProxyEventV2;
}

/** A signed `POST /hooks/deploy` event for `body`, signed now with `secret` (see SignOptions for the scheme). */
export function webhookEvent(
  body: unknown,
  secret: string,
  headers: Record<string, string> = {},
  options: SignOptions = {},
): APIGatewayProxyEventV2 {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return rawWebhookEvent(text, { ...signatureHeaders(text, secret, options), ...headers });
}
