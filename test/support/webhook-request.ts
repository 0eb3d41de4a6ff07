// Test shorthand for the webhook: an HTTP API v2 event for a body, signed the way a deploy tool signs it.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { signBody } from '../../functions/webhook/signature.js';

/** A signed `POST /hooks/deploy` event (legacy `X-Slot-Sync-Signature`, signed now with `secret`). */
export function webhookEvent(
  body: unknown,
  secret: string,
  headers: Record<string, string> = {},
): APIGatewayProxyEventV2 {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    version: '2.0',
    routeKey: 'POST /hooks/deploy',
    rawPath: '/hooks/deploy',
    rawQueryString: '',
    headers: {
      'Content-Type': 'application/json',
      'X-Slot-Sync-Signature': signBody(secret, text, Math.floor(Date.now() / 1000)),
      ...headers,
    },
    body: text,
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST', path: '/hooks/deploy' } } as APIGatewayProxyEventV2['requestContext'],
  } as APIGatewayProxyEventV2;
}
