// Webhook signature: only a fresh, untampered body signed with a current secret passes; each failure says why.
import { describe, expect, it } from 'vitest';
import { SignatureError, type SignatureFailure, type SignatureRejectedError } from '../../../functions/lib/errors.js';
import { signBody, verifySignature } from '../../../functions/webhook/signature.js';

const secret = 'current-secret';
const now = 1_800_000_000;
const rawBody = '{"action":"drain","backend":"web","member":{"id":"i-1","address":"127.0.0.2","port":80}}';

function reason(input: Partial<Parameters<typeof verifySignature>[0]>): SignatureFailure {
  try {
    verifySignature({ header: signBody(secret, rawBody, now), rawBody, secrets: [secret], now, ...input });
  } catch (error) {
    expect(error).toBeInstanceOf(SignatureError);
    return (error as SignatureRejectedError).reason;
  }
  throw new Error('expected a SignatureError');
}

describe('verifySignature', () => {
  it('accepts a body signed now with the current secret', () => {
    expect(() =>
      verifySignature({ header: signBody(secret, rawBody, now), rawBody, secrets: [secret], now }),
    ).not.toThrow();
  });

  it('accepts a timestamp at the edge of the 5-minute window', () => {
    expect(() =>
      verifySignature({ header: signBody(secret, rawBody, now - 300), rawBody, secrets: [secret], now }),
    ).not.toThrow();
  });

  it.each([undefined, '', '   '])('says missing for header %j', (header) => {
    expect(reason({ header })).toBe('missing');
  });

  it.each([
    'garbage',
    'v1=abc',
    `t=${now}`,
    `t=${now},v1=xyz`,
    `t=${now},v1=${'a'.repeat(63)}`,
    `t=1234567890123,v1=${'a'.repeat(64)}`,
    `t=-5,v1=${'a'.repeat(64)}`,
    `t=1e9,v1=${'a'.repeat(64)}`,
    `t=${now},t=${now},v1=${'a'.repeat(64)}`,
    `t=${now},=x,v1=${'a'.repeat(64)}`,
    `t=${now},V 1=x,v1=${'a'.repeat(64)}`,
    `t=${now},${Array(5)
      .fill(`v1=${'a'.repeat(64)}`)
      .join(',')}`,
    `t=${now},v1=${'a'.repeat(64)},pad=${'x'.repeat(2000)}`,
  ])('says malformed for %s', (header) => {
    expect(reason({ header })).toBe('malformed');
  });

  it('says expired for a request replayed after the window', () => {
    expect(reason({ header: signBody(secret, rawBody, now - 301) })).toBe('expired');
  });

  it('says future for a timestamp more than the window ahead', () => {
    expect(reason({ header: signBody(secret, rawBody, now + 301) })).toBe('future');
  });

  it('honours a custom tolerance', () => {
    expect(reason({ header: signBody(secret, rawBody, now - 61), toleranceSeconds: 60 })).toBe('expired');
  });

  it('says mismatch for a body signed with another secret', () => {
    expect(reason({ header: signBody('old-secret', rawBody, now) })).toBe('mismatch');
  });

  it('says mismatch when the body differs by one byte', () => {
    expect(reason({ rawBody: rawBody.replace('drain', 'drail') })).toBe('mismatch');
  });

  it('says mismatch when the timestamp was changed after signing', () => {
    const [, v1] = signBody(secret, rawBody, now).split(',');
    expect(reason({ header: `t=${now - 1},${v1}` })).toBe('mismatch');
  });

  it('says mismatch when no secret is configured', () => {
    expect(reason({ secrets: [] })).toBe('mismatch');
    expect(reason({ secrets: [''] })).toBe('mismatch');
  });

  it('accepts the old secret while both are configured during a rotation', () => {
    const header = signBody('old-secret', rawBody, now);
    expect(() => verifySignature({ header, rawBody, secrets: [secret, 'old-secret'], now })).not.toThrow();
  });

  it('accepts a header carrying signatures under both secrets, in any order, with spaces and unknown schemes', () => {
    const sig = (s: string) => signBody(s, rawBody, now).split(',')[1];
    const header = ` t=${now} , ${sig('unknown')}, v0=ignored, ${sig(secret)}`;
    expect(() => verifySignature({ header, rawBody, secrets: [secret], now })).not.toThrow();
  });

  it('accepts upper-case hex', () => {
    const header = signBody(secret, rawBody, now).replace(/v1=(.*)$/, (_, hex: string) => `v1=${hex.toUpperCase()}`);
    expect(() => verifySignature({ header, rawBody, secrets: [secret], now })).not.toThrow();
  });
});
