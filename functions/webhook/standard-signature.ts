// Webhook signature, Standard Webhooks (https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp` and
// `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<raw body>">`, checked by the standardwebhooks library.
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { ConfigError, SignatureRejectedError } from '../lib/errors.js';

/** The three headers (HTTP API lower-cases header names). */
export const STANDARD_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;
/** How a Standard Webhooks secret is written: `whsec_` then the base64 of the key bytes. */
export const SECRET_PREFIX = 'whsec_';
/** The library's replay window either side of now (fixed there: 5 minutes). */
export const STANDARD_TOLERANCE_SECONDS = 300;

// Bounds keep a hostile header from costing more than a handful of HMACs (one per secret, not per signature).
const MAX_SIGNATURE_HEADER = 1024;
const MAX_SIGNATURES = 8;
const ID = /^[\x21-\x7e]{1,255}$/;
// No leading zeros: the library signs the parsed number, so `0170…` would be a second spelling of one timestamp.
const TIMESTAMP = /^(0|[1-9][0-9]{0,11})$/;
// `v1a` (ed25519) and later schemes are ignored, as the spec lets senders add them; garbage is not.
const ENTRY = /^v[0-9][0-9a-z]{0,7},[A-Za-z0-9+/=]{1,256}$/;

/** The three header values as received (any may be missing). */
export interface StandardHeaders {
  readonly id: string | undefined;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
}

/** Input of verifyStandardSignature; `now` is epoch seconds (the library reads the clock too: keep them one clock). */
export interface StandardVerifyInput {
  readonly headers: StandardHeaders;
  readonly rawBody: string;
  /** Every configured secret line; only the `whsec_` ones take part. */
  readonly secrets: readonly string[];
  readonly now: number;
}

/** The `whsec_` secrets as library verifiers; one that is not valid base64 is a configuration error (500). */
export function standardVerifiers(secrets: readonly string[]): Webhook[] {
  return secrets
    .filter((s) => s.startsWith(SECRET_PREFIX))
    .map((s) => {
      try {
        return new Webhook(s);
      } catch (cause) {
        throw new ConfigError(`a webhook secret starts with ${SECRET_PREFIX} but is not base64 after it`, { cause });
      }
    });
}

/** `v1,<base64>` for a body, as a sender puts it in `webhook-signature`. */
export function signStandard(secret: string, id: string, timestamp: number, rawBody: string): string {
  return new Webhook(secret).sign(id, new Date(timestamp * 1000), rawBody);
}

/** The three headers a sender adds, signed with `secret` (a `whsec_` secret). */
export function standardHeaders(
  secret: string,
  rawBody: string,
  id: string,
  timestamp: number,
): Record<(typeof STANDARD_HEADERS)[keyof typeof STANDARD_HEADERS], string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signStandard(secret, id, timestamp, rawBody),
  };
}

function checkFormat(headers: StandardHeaders): { id: string; timestamp: string; signature: string } {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) {
    const absent = Object.entries(STANDARD_HEADERS)
      .filter(([k]) => !headers[k as keyof StandardHeaders])
      .map(([, h]) => h);
    throw new SignatureRejectedError('missing', `no ${absent.join(', ')} header (Standard Webhooks needs all three)`);
  }
  if (!ID.test(id)) throw new SignatureRejectedError('malformed', 'webhook-id must be 1-255 visible ASCII characters');
  if (!TIMESTAMP.test(timestamp)) {
    throw new SignatureRejectedError('malformed', 'webhook-timestamp must be unix seconds (digits, no leading zero)');
  }
  if (signature.length > MAX_SIGNATURE_HEADER) throw new SignatureRejectedError('malformed', 'header too long');
  const entries = signature.split(' ').filter(Boolean);
  if (entries.length > MAX_SIGNATURES) throw new SignatureRejectedError('malformed', 'too many signatures');
  if (!entries.every((e) => ENTRY.test(e))) {
    throw new SignatureRejectedError('malformed', 'webhook-signature must be space-separated <version>,<base64>');
  }
  if (!entries.some((e) => e.startsWith('v1,'))) throw new SignatureRejectedError('malformed', 'no v1 signature');
  return { id, timestamp, signature };
}

/**
 * Throws SignatureRejectedError unless one `v1,` signature is the HMAC of `id.timestamp.rawBody` under one of the
 * `whsec_` secrets (several while rotating) and the timestamp is within 5 minutes of `now`. Returns the request's
 * idempotency key: the `webhook-id`. It is signed, so it cannot be respelled: every accepted variant of one request
 * (signatures reordered, added or junk, header names in another case) carries the same id and is one request.
 */
export function verifyStandardSignature(input: StandardVerifyInput): { readonly key: string } {
  const headers = checkFormat(input.headers);
  // The window is checked before any HMAC: a stale or replayed request costs nothing, and the timestamp is public.
  const age = input.now - Number(headers.timestamp);
  const tolerance = STANDARD_TOLERANCE_SECONDS;
  if (age > tolerance) throw new SignatureRejectedError('expired', `timestamp is ${age}s old (limit ${tolerance}s)`);
  if (age < -tolerance) throw new SignatureRejectedError('future', `timestamp is ${-age}s ahead (limit ${tolerance}s)`);
  const verifiers = standardVerifiers(input.secrets);
  if (verifiers.length === 0) throw new SignatureRejectedError('mismatch', `no ${SECRET_PREFIX} secret configured`);
  const wire = {
    [STANDARD_HEADERS.id]: headers.id,
    [STANDARD_HEADERS.timestamp]: headers.timestamp,
    [STANDARD_HEADERS.signature]: headers.signature,
  };
  for (const verifier of verifiers) {
    try {
      verifier.verify(input.rawBody, wire, { jsonParse: false });
      return { key: `wh:${headers.id}` };
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
    }
  }
  throw new SignatureRejectedError('mismatch', 'no v1 signature matches');
}
