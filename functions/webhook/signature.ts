// Webhook signature, legacy scheme (deprecated; accepted for one more release beside Standard Webhooks):
// `X-Slot-Sync-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.rawBody">`, checked in constant time.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { SignatureRejectedError } from '../lib/errors.js';

/** The header carrying the signature (HTTP API lower-cases header names). */
export const SIGNATURE_HEADER = 'x-slot-sync-signature';
/** Default replay window either side of `now`. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

// Bounds keep a hostile header from costing more than a handful of HMACs.
const MAX_HEADER_LENGTH = 1024;
const MAX_SIGNATURES = 4;
const TIMESTAMP = /^[0-9]{1,12}$/;
const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/** Input of verifySignature; `now` is epoch seconds (injected so tests need no clock). */
export interface VerifyInput {
  readonly header: string | undefined;
  readonly rawBody: string;
  readonly secrets: readonly string[];
  readonly now: number;
  readonly toleranceSeconds?: number;
}

function digest(secret: string, rawBody: string, t: string): Buffer {
  return createHmac('sha256', secret).update(`${t}.`).update(rawBody, 'utf8').digest();
}

/** Signs a body the way a caller must: returns the full header value `t=…,v1=…`. For tests and the local stack. */
export function signBody(secret: string, rawBody: string, t: number): string {
  return `t=${t},v1=${digest(secret, rawBody, String(t)).toString('hex')}`;
}

function parseHeader(header: string): { t: string; signatures: Buffer[] } {
  if (header.length > MAX_HEADER_LENGTH) throw new SignatureRejectedError('malformed', 'header too long');
  let t: string | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 1) throw new SignatureRejectedError('malformed', 'expected comma-separated key=value pairs');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (t !== undefined) throw new SignatureRejectedError('malformed', 'more than one t=');
      if (!TIMESTAMP.test(value)) throw new SignatureRejectedError('malformed', 't must be unix seconds (1-12 digits)');
      t = value;
    } else if (key === 'v1') {
      // Fixed length checked on the format (public) before any comparison, so equal-length compares never leak.
      if (!HEX_SHA256.test(value)) throw new SignatureRejectedError('malformed', 'v1 must be 64 hex digits');
      signatures.push(Buffer.from(value, 'hex'));
    } else if (!/^[a-z][a-z0-9]{0,15}$/.test(key)) {
      // Unknown schemes (a future v2) are ignored, as senders may add them; garbage keys are not.
      throw new SignatureRejectedError('malformed', 'unexpected key');
    }
  }
  if (t === undefined) throw new SignatureRejectedError('malformed', 'no t=');
  if (signatures.length === 0) throw new SignatureRejectedError('malformed', 'no v1=');
  if (signatures.length > MAX_SIGNATURES) throw new SignatureRejectedError('malformed', 'too many v1=');
  return { t, signatures };
}

/**
 * Throws SignatureRejectedError (a SignatureError) unless one `v1=` is the HMAC of `t.rawBody` under one of the
 * secrets (several while a secret is rotated) and `t` is within the tolerance of `now`. Returns the request's canonical
 * key: `t` and a digest we computed of what was signed (never the header's text), so every respelling of one signed
 * request — upper-case hex, reordered or extra fields, junk or added signatures — is one request to the idempotency
 * layer, and a replay answers the stored result. It is not the matching HMAC itself: with two secrets the sender signs
 * under both, and a replay keeping only the second signature would otherwise get a key of its own.
 */
export function verifySignature(input: VerifyInput): { readonly key: string } {
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (input.header === undefined || input.header.trim() === '') {
    throw new SignatureRejectedError(
      'missing',
      `no webhook-signature (Standard Webhooks) or ${SIGNATURE_HEADER} header`,
    );
  }
  const { t, signatures } = parseHeader(input.header);
  // The window is checked before any HMAC: a stale or replayed request costs nothing, and t is public anyway.
  const age = input.now - Number(t);
  if (age > tolerance) throw new SignatureRejectedError('expired', `timestamp is ${age}s old (limit ${tolerance}s)`);
  if (age < -tolerance) throw new SignatureRejectedError('future', `timestamp is ${-age}s ahead (limit ${tolerance}s)`);
  const usable = input.secrets.filter((s) => s.length > 0);
  if (usable.length === 0) throw new SignatureRejectedError('mismatch', 'no secret configured');
  let matched = false;
  // Every pair is compared, without stopping at the first hit, so the time taken says nothing about which one matched.
  for (const secret of usable) {
    const expected = digest(secret, input.rawBody, t);
    for (const candidate of signatures) if (timingSafeEqual(expected, candidate)) matched = true;
  }
  if (!matched) throw new SignatureRejectedError('mismatch', 'no v1 signature matches');
  const signed = createHash('sha256').update(`${t}.`).update(input.rawBody, 'utf8').digest('hex');
  return { key: `sig:${t}:${signed}` };
}
