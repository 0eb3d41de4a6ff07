// Webhook signatures: Standard Webhooks verified by the library, the deprecated scheme beside it, and one canonical
// idempotency key per signed request whatever the headers' spelling (fast-check over the respellings).
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, SignatureError, type SignatureRejectedError } from '../../../functions/lib/errors.js';
import { signBody, verifySignature } from '../../../functions/webhook/signature.js';
import {
  type StandardHeaders,
  signStandard,
  standardHeaders,
  verifyStandardSignature,
} from '../../../functions/webhook/standard-signature.js';
import { verifyRequest } from '../../../functions/webhook/verify.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const OLD_SECRET = `whsec_${Buffer.from('the secret before the rotation').toString('base64')}`;
const now = 1_800_000_000;
const id = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
const rawBody = '{"action":"drain","backend":"web","member":{"id":"i-1","address":"10.0.0.2","port":80}}';

// The library reads the clock itself: keep it on the same `now` as the injected one.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(now * 1000);
});
afterEach(() => {
  vi.useRealTimers();
});

function signed(overrides: Partial<StandardHeaders> = {}, t = now, secret = SECRET): StandardHeaders {
  return { id, timestamp: String(t), signature: signStandard(secret, id, t, rawBody), ...overrides };
}

function reason(headers: StandardHeaders, secrets: readonly string[] = [SECRET], body = rawBody): string {
  try {
    verifyStandardSignature({ headers, rawBody: body, secrets, now });
  } catch (error) {
    expect(error).toBeInstanceOf(SignatureError);
    return (error as SignatureRejectedError).reason;
  }
  throw new Error('expected a SignatureError');
}

const verify = (headers: StandardHeaders, secrets: readonly string[] = [SECRET]) =>
  verifyStandardSignature({ headers, rawBody, secrets, now });

describe('verifyStandardSignature', () => {
  it('accepts a body signed now and keys the request by its webhook-id', () => {
    expect(verify(signed())).toEqual({ key: `wh:${id}` });
  });

  it('signs exactly as the library does (what any Standard Webhooks sender produces)', () => {
    expect(signStandard(SECRET, id, now, rawBody)).toBe(new Webhook(SECRET).sign(id, new Date(now * 1000), rawBody));
    expect(standardHeaders(SECRET, rawBody, id, now)).toEqual({
      'webhook-id': id,
      'webhook-timestamp': String(now),
      'webhook-signature': signStandard(SECRET, id, now, rawBody),
    });
  });

  it('accepts timestamps at both edges of the 5-minute window', () => {
    expect(() => verify(signed({}, now - 300))).not.toThrow();
    expect(() => verify(signed({}, now + 300))).not.toThrow();
  });

  it('says expired one second past the window, and future one second ahead of it', () => {
    expect(reason(signed({}, now - 301))).toBe('expired');
    expect(reason(signed({}, now + 301))).toBe('future');
  });

  it.each([
    ['webhook-id', { id: undefined }],
    ['webhook-timestamp', { timestamp: undefined }],
    ['webhook-signature', { signature: undefined }],
    ['webhook-signature (empty)', { signature: '' }],
  ])('says missing without %s', (_name, overrides) => {
    expect(reason(signed(overrides))).toBe('missing');
  });

  it.each([
    ['an id with a space', { id: 'msg 1' }],
    ['an id of 256 characters', { id: 'm'.repeat(256) }],
    ['a timestamp with a leading zero', { timestamp: `0${now}` }],
    ['a timestamp in exponent form', { timestamp: '1.8e9' }],
    ['a negative timestamp', { timestamp: '-5' }],
    ['a timestamp with trailing text', { timestamp: `${now}abc` }],
    ['a signature without a version', { signature: 'abcdef' }],
    ['only an unknown scheme', { signature: `v1a,${'A'.repeat(86)}==` }],
    [
      'nine signatures',
      {
        signature: Array(9)
          .fill(`v1,${'A'.repeat(43)}=`)
          .join(' '),
      },
    ],
    ['a signature header over 1 KiB', { signature: `v1,${'A'.repeat(1100)}` }],
    ['a comma-separated list', { signature: `v1,${'A'.repeat(43)}=,v1,${'B'.repeat(43)}=` }],
  ])('says malformed for %s', (_name, overrides) => {
    expect(reason(signed(overrides))).toBe('malformed');
  });

  it('says mismatch for another secret, another body, another id or another timestamp than signed', () => {
    expect(reason(signed({}, now, OLD_SECRET))).toBe('mismatch');
    expect(reason(signed(), [SECRET], rawBody.replace('drain', 'ready'))).toBe('mismatch');
    expect(reason(signed({ id: 'msg_other' }))).toBe('mismatch');
    expect(reason(signed({ timestamp: String(now - 1) }))).toBe('mismatch');
  });

  it('says mismatch when no whsec_ secret is configured (legacy secrets never sign Standard Webhooks)', () => {
    expect(reason(signed(), ['plain-legacy-secret'])).toBe('mismatch');
    expect(reason(signed(), [])).toBe('mismatch');
  });

  it('treats a whsec_ secret that is not base64 as a configuration error', () => {
    expect(() => verify(signed(), ['whsec_not base64!'])).toThrow(ConfigError);
  });

  it('accepts the old secret while both are configured during a rotation, and a header signed under both', () => {
    expect(() => verify(signed({}, now, OLD_SECRET), [SECRET, OLD_SECRET])).not.toThrow();
    const both = `${signStandard(OLD_SECRET, id, now, rawBody)} ${signStandard(SECRET, id, now, rawBody)}`;
    expect(verify(signed({ signature: both }), [SECRET])).toEqual({ key: `wh:${id}` });
    expect(verify(signed({ signature: both }), [OLD_SECRET])).toEqual({ key: `wh:${id}` });
  });
});

const base64Signature = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((bytes) => `v1,${Buffer.from(bytes).toString('base64')}`);
const otherScheme = fc
  .tuple(fc.constantFrom('v1a', 'v2', 'v9'), fc.uint8Array({ minLength: 32, maxLength: 64 }))
  .map(([v, bytes]) => `${v},${Buffer.from(bytes).toString('base64')}`);

describe('one signed request, one key (Standard Webhooks)', () => {
  it('every respelling of the signature header (reordered, junk or other-scheme entries, spacing) keeps the key', () => {
    const genuine = signStandard(SECRET, id, now, rawBody);
    const rotated = signStandard(OLD_SECRET, id, now, rawBody);
    fc.assert(
      fc.property(
        fc.array(fc.oneof(base64Signature, otherScheme), { maxLength: 5 }),
        fc.boolean(),
        fc.nat(),
        fc.constantFrom(' ', '  '),
        (extra, withRotated, seed, gap) => {
          const entries = [genuine, ...(withRotated ? [rotated] : []), ...extra];
          const shuffled = entries
            .map((e, i) => ({ e, k: (seed * (i + 7)) % 101 }))
            .sort((a, b) => a.k - b.k)
            .map((x) => x.e);
          const signature = shuffled.join(gap);
          expect(verify(signed({ signature }), [SECRET, OLD_SECRET])).toEqual({ key: `wh:${id}` });
        },
      ),
    );
  });

  it('the id cannot be respelled: any other id fails the signature', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[\x21-\x7e]{1,40}$/), (other) => {
        fc.pre(other !== id);
        expect(reason(signed({ id: other }))).toBe('mismatch');
      }),
    );
  });

  it('a fresh id signs a new request (a new key), so senders retry with the same id to be answered once', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^msg_[A-Za-z0-9]{1,30}$/), (fresh) => {
        const headers = standardHeaders(SECRET, rawBody, fresh, now);
        const key = verify({
          id: headers['webhook-id'],
          timestamp: headers['webhook-timestamp'],
          signature: headers['webhook-signature'],
        }).key;
        expect(key).toBe(`wh:${fresh}`);
      }),
    );
  });
});

const LEGACY = 'legacy-secret';
const LEGACY_OLD = 'legacy-secret-before';
const hex = (secret: string) => signBody(secret, rawBody, now).split('v1=')[1] as string;
const legacyKey = (header: string, secrets = [LEGACY, LEGACY_OLD]) =>
  verifySignature({ header, rawBody, secrets, now }).key;

describe('one signed request, one key (deprecated X-Slot-Sync-Signature)', () => {
  it('upper-case hex, reordered fields, junk or added signatures and spacing all keep the key', () => {
    const canonical = legacyKey(signBody(LEGACY, rawBody, now));
    const junkHex = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `v1=${Buffer.from(b).toString('hex')}`);
    const addedScheme = fc.stringMatching(/^v[2-9]=[0-9a-f]{8,64}$/);
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.oneof(junkHex, addedScheme), { maxLength: 2 }),
        fc.nat(),
        fc.constantFrom('', ' '),
        (upper, withOld, extra, seed, pad) => {
          const fields = [
            `t=${now}`,
            `v1=${upper ? hex(LEGACY).toUpperCase() : hex(LEGACY)}`,
            ...(withOld ? [`v1=${hex(LEGACY_OLD)}`] : []),
            ...extra,
          ];
          const header = fields
            .map((f, i) => ({ f, k: (seed * (i + 3)) % 97 }))
            .sort((a, b) => a.k - b.k)
            .map((x) => `${pad}${x.f}${pad}`)
            .join(',');
          expect(legacyKey(header)).toBe(canonical);
        },
      ),
    );
  });

  it('a header keeping only the old secret’s signature is the same request as one signed under both', () => {
    const both = `t=${now},v1=${hex(LEGACY)},v1=${hex(LEGACY_OLD)}`;
    expect(legacyKey(`t=${now},v1=${hex(LEGACY_OLD)}`)).toBe(legacyKey(both));
    expect(legacyKey(`t=${now},v1=${hex(LEGACY)}`)).toBe(legacyKey(both));
  });

  it('a different timestamp or body is a different request', () => {
    const other = signBody(LEGACY, rawBody, now - 1);
    expect(legacyKey(other)).not.toBe(legacyKey(signBody(LEGACY, rawBody, now)));
  });
});

describe('verifyRequest: which scheme', () => {
  const standard = standardHeaders(SECRET, rawBody, id, now);
  const legacy = { 'x-slot-sync-signature': signBody(LEGACY, rawBody, now) };

  it('verifies Standard Webhooks when its headers are there, the deprecated header otherwise', () => {
    expect(verifyRequest(standard, rawBody, [SECRET], now)).toEqual({ scheme: 'standard', key: `wh:${id}` });
    expect(verifyRequest(legacy, rawBody, [LEGACY], now).scheme).toBe('legacy');
  });

  it('uses every secret line for the deprecated scheme, whsec_ ones included (as text, as before)', () => {
    const header = { 'x-slot-sync-signature': signBody(SECRET, rawBody, now) };
    expect(verifyRequest(header, rawBody, [SECRET], now).scheme).toBe('legacy');
  });

  it('refuses a request carrying both schemes (stripping one would replay it under a second key)', () => {
    expect(() => verifyRequest({ ...standard, ...legacy }, rawBody, [SECRET, LEGACY], now)).toThrow(
      expect.objectContaining({ reason: 'malformed' }),
    );
  });

  it('treats one Standard Webhooks header alone as that scheme, so it says which are missing', () => {
    expect(() => verifyRequest({ 'webhook-id': id, ...legacy }, rawBody, [LEGACY], now)).toThrow(SignatureError);
    expect(() => verifyRequest({ 'webhook-id': id }, rawBody, [SECRET], now)).toThrow(
      expect.objectContaining({ reason: 'missing' }),
    );
  });

  it('says missing when neither scheme is there', () => {
    expect(() => verifyRequest({}, rawBody, [SECRET], now)).toThrow(expect.objectContaining({ reason: 'missing' }));
  });
});
