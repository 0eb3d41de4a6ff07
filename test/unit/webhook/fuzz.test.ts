// Webhook fuzz: any body or header yields a value or one of our typed errors, and accepted members build clean commands.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkAddress } from '../../../functions/lib/domain/address-policy.js';
import { setAddr, setState, setWeight } from '../../../functions/lib/domain/commands.js';
import { PayloadTooLargeError, SignatureError, ValidationError } from '../../../functions/lib/errors.js';
import { renderCommand } from '../../../functions/lib/haproxy/commands.js';
import { parseWebhookBody, type WebhookRequest } from '../../../functions/webhook/schema.js';
import { signBody, verifySignature } from '../../../functions/webhook/signature.js';
import { verifyStandardSignature } from '../../../functions/webhook/standard-signature.js';

const RUNS = 1000;
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

// Text an attacker would try: command separators, whitespace, look-alike digits and letters, huge numbers, odd IPs.
const nasty = fc.constantFrom(
  'web;show info',
  'web\nshutdown sessions server web/web1',
  'web\r',
  'web 1',
  ' web',
  'wеb', // Cyrillic е
  '１２７.0.0.1',
  '127.0.0.1;',
  '127.0.0.1\n',
  '127.0.0.1 port 1',
  '::ffff:127.0.0.1',
  '0x7f.1',
  '127.1',
  'fe80::1%lo',
  '[::1]',
  '1e309',
  '\u0000',
  '\u2028',
  '__proto__',
  '',
);
const text = fc.oneof(
  nasty,
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.stringMatching(/^[A-Za-z0-9._:-]{1,12}$/),
);
const number = fc.oneof(
  fc.integer({ min: -5, max: 70000 }),
  fc.constantFrom(0, 256, 257, 65535, 65536, 1e21, -0, Number.MAX_SAFE_INTEGER + 2, 1.5),
  fc.double(),
);
const address = fc.oneof(nasty, fc.ipV4(), fc.ipV6(), fc.constant('127.0.0.9'));
const member = fc.record(
  { id: text, address, port: fc.oneof(number, text), extra: fc.constant(1) },
  { requiredKeys: ['id', 'address', 'port'] },
);
const change = fc.record(
  {
    action: fc.oneof(fc.constantFrom('register', 'deregister', 'drain', 'ready', 'maint', 'weight'), text),
    backend: text,
    member,
    weight: number,
  },
  { requiredKeys: ['action', 'backend', 'member'] },
);
const structured = fc.oneof(
  change,
  fc.record({ changes: fc.array(change, { maxLength: 4 }) }),
  fc.record({ backend: text, members: fc.array(member, { maxLength: 4 }), allowEmpty: fc.boolean() }),
);

function expectOurErrors(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (error) {
    expect(error instanceof ValidationError || error instanceof PayloadTooLargeError).toBe(true);
    return undefined;
  }
}

// Invariant 3: every accepted value the address policy lets through (loopback allowed, as in tests) goes through the
// builders without being refused and without a separator; what the policy refuses never reaches a builder.
function expectCleanCommands(request: WebhookRequest): void {
  const entries =
    request.kind === 'desired'
      ? request.members.map((m) => ({ backend: request.backend, member: m, weight: 1 }))
      : request.changes.map((c) => ({ backend: c.backend, member: c.member, weight: c.weight ?? 1 }));
  for (const { backend, member: m, weight } of entries) {
    expect(m.id).toMatch(/^[A-Za-z0-9._:-]+$/);
    const addressed = checkAddress(m.address, { allowLoopback: true }).ok;
    for (const command of [
      ...(addressed ? [setAddr(backend, 'slot1', m.address, m.port)] : []),
      setState(backend, 'slot1', 'drain'),
      setWeight(backend, 'slot1', weight),
    ]) {
      expect(renderCommand(command)).not.toMatch(/[;\n\r]/);
    }
  }
}

describe('webhook fuzz', () => {
  it('parseWebhookBody on arbitrary text returns a request or throws ValidationError / PayloadTooLargeError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.json(), nasty), (raw) => {
        const result = expectOurErrors(() => parseWebhookBody(raw));
        if (result) expectCleanCommands(result as WebhookRequest);
      }),
      { numRuns: RUNS },
    );
  });

  it('parseWebhookBody on arbitrary JSON values never throws anything else', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), (value) => {
        const result = expectOurErrors(() => parseWebhookBody(JSON.stringify(value) ?? 'null'));
        if (result) expectCleanCommands(result as WebhookRequest);
      }),
      { numRuns: RUNS },
    );
  });

  it('near-valid bodies with hostile fields are either refused or build only clean commands', () => {
    let accepted = 0;
    fc.assert(
      fc.property(structured, (value) => {
        const result = expectOurErrors(() => parseWebhookBody(JSON.stringify(value)));
        if (result) {
          accepted++;
          expectCleanCommands(result as WebhookRequest);
        }
      }),
      { numRuns: 3 * RUNS },
    );
    // Without accepted samples the builder half of this property would be vacuous.
    expect(accepted).toBeGreaterThan(0);
  });

  it('verifySignature on arbitrary headers throws only SignatureError', () => {
    const header = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.stringMatching(/^t=[0-9]{1,14},v1=[0-9a-fA-Fx]{60,66}(,[a-z0-9]{1,3}=[^,]{0,70}){0,5}$/),
      nasty,
    );
    fc.assert(
      fc.property(header, fc.string(), (h, rawBody) => {
        expect(() => verifySignature({ header: h, rawBody, secrets: ['s'], now: 1_800_000_000 })).toThrow(
          SignatureError,
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('verifyStandardSignature on arbitrary headers throws only SignatureError', () => {
    const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), nasty);
    const signature = fc.oneof(
      text,
      fc.stringMatching(/^(v[0-9a-z]{1,3},[A-Za-z0-9+/=]{40,46} ?){1,9}$/),
      fc.constant(`v1,${'A'.repeat(43)}=`),
    );
    const timestamp = fc.oneof(
      text,
      fc.integer({ min: -1, max: 2_000_000_000 }).map(String),
      fc.constant('1800000000'),
    );
    fc.assert(
      fc.property(fc.option(text), fc.option(timestamp), fc.option(signature), fc.string(), (id, t, sig, rawBody) => {
        const headers = { id: id ?? undefined, timestamp: t ?? undefined, signature: sig ?? undefined };
        expect(() => verifyStandardSignature({ headers, rawBody, secrets: [SECRET], now: 1_800_000_000 })).toThrow(
          SignatureError,
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('a body signed with the secret verifies, and the same signature fails for any other body', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1 }),
        fc.string({ unit: 'binary' }),
        fc.string({ unit: 'binary' }),
        (secret, rawBody, other) => {
          fc.pre(other !== rawBody);
          const header = signBody(secret, rawBody, 1_800_000_000);
          verifySignature({ header, rawBody, secrets: [secret], now: 1_800_000_000 });
          expect(() => verifySignature({ header, rawBody: other, secrets: [secret], now: 1_800_000_000 })).toThrow(
            SignatureError,
          );
        },
      ),
      { numRuns: RUNS },
    );
  });
});
