// Webhook edge: each body shape parses into the normalised request; everything else is a 400 (ValidationError) or 413.
import { describe, expect, it } from 'vitest';
import { PayloadTooLargeError, ValidationError } from '../../../functions/lib/errors.js';
import { MAX_BODY_BYTES, parseWebhookBody } from '../../../functions/webhook/schema.js';

const member = { id: 'i-0abc', address: '127.0.0.10', port: 8080 };
const change = { action: 'register', backend: 'web', member };
const body = (value: unknown) => JSON.stringify(value);

function issuesOf(raw: string): Array<{ path: string; message: string }> {
  try {
    parseWebhookBody(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  }
  throw new Error('expected a ValidationError');
}

describe('parseWebhookBody: accepted shapes', () => {
  it('normalises a single change into a batch of one', () => {
    expect(parseWebhookBody(body(change))).toEqual({ kind: 'changes', changes: [change] });
  });

  it('keeps a batch in order', () => {
    const second = { action: 'weight', backend: 'web', member, weight: 0 };
    expect(parseWebhookBody(body({ changes: [change, second] }))).toEqual({
      kind: 'changes',
      changes: [change, second],
    });
  });

  it('reads a desired member set', () => {
    const other = { id: 'i-0def', address: '::1', port: 8080 };
    expect(parseWebhookBody(body({ backend: 'web', members: [member, other] }))).toEqual({
      kind: 'desired',
      backend: 'web',
      members: [member, other],
    });
  });

  it('accepts an empty desired set only with allowEmpty: true', () => {
    expect(parseWebhookBody(body({ backend: 'web', members: [], allowEmpty: true }))).toEqual({
      kind: 'desired',
      backend: 'web',
      members: [],
    });
    expect(issuesOf(body({ backend: 'web', members: [] }))).toEqual([
      { path: 'members', message: expect.stringMatching(/allowEmpty/) },
    ]);
  });

  it.each(['drain', 'ready', 'maint', 'deregister'])('accepts action %s without weight', (action) => {
    expect(parseWebhookBody(body({ ...change, action })).kind).toBe('changes');
  });
});

describe('parseWebhookBody: refused bodies', () => {
  it('answers bad JSON with a ValidationError at the root', () => {
    expect(issuesOf('{"action":')).toEqual([{ path: '', message: expect.any(String) }]);
  });

  it.each(['[]', 'null', '"text"', '42'])('refuses a body that is not an object: %s', (raw) => {
    expect(issuesOf(raw)).toEqual([{ path: '', message: 'expected a JSON object' }]);
  });

  it.each([
    ['member.address', { ...change, member: { ...member, address: 'example.com' } }],
    ['member.address', { ...change, member: { ...member, address: '127.0.0.1 port 1' } }],
    ['member.address', { ...change, member: { ...member, address: 'fe80::1%eth0' } }],
    ['member.address', { ...change, member: { ...member, address: '１２７.0.0.1' } }],
    ['member.port', { ...change, member: { ...member, port: 0 } }],
    ['member.port', { ...change, member: { ...member, port: 65536 } }],
    ['member.port', { ...change, member: { ...member, port: 80.5 } }],
    ['member.port', { ...change, member: { ...member, port: '80' } }],
    ['member.id', { ...change, member: { ...member, id: 'a;b' } }],
    ['member.id', { ...change, member: { ...member, id: 'a\nb' } }],
    ['member.id', { ...change, member: { ...member, id: 'x'.repeat(101) } }],
    ['backend', { ...change, backend: 'web/1' }],
    ['backend', { ...change, backend: 'web ' }],
    ['action', { ...change, action: 'reload' }],
    ['weight', { ...change, action: 'weight' }],
    ['weight', { ...change, weight: 5 }],
    ['weight', { ...change, action: 'weight', weight: 257 }],
    ['weight', { ...change, action: 'weight', weight: -1 }],
    ['', { ...change, extra: true }],
    ['member', { ...change, member: { ...member, extra: true } }],
  ])('refuses with an issue at %s: %j', (path, value) => {
    expect(issuesOf(body(value)).map((i) => i.path)).toEqual([path]);
  });

  it('refuses an empty batch and one over 500 changes', () => {
    expect(issuesOf(body({ changes: [] })).map((i) => i.path)).toEqual(['changes']);
    expect(issuesOf(body({ changes: Array(501).fill(change) })).map((i) => i.path)).toEqual(['changes']);
  });

  it('names the index of the bad change inside a batch', () => {
    expect(issuesOf(body({ changes: [change, { ...change, backend: '' }] })).map((i) => i.path)).toEqual([
      'changes.1.backend',
    ]);
  });

  it('refuses duplicate member ids and duplicate endpoints in a desired set', () => {
    const issues = issuesOf(
      body({ backend: 'web', members: [member, { ...member, port: 9090 }, { ...member, id: 'i-other' }] }),
    );
    expect(issues.map((i) => i.path)).toEqual(['members.1.id', 'members.2']);
  });

  it('refuses a desired set over 1000 members', () => {
    const members = Array.from({ length: 1001 }, (_, i) => ({ ...member, id: `m${i}`, port: 1 + i }));
    expect(issuesOf(body({ backend: 'web', members })).map((i) => i.path)).toEqual(['members']);
  });

  it('answers a body over 256 KiB with PayloadTooLargeError, before parsing it', () => {
    const raw = `{"pad":"${'x'.repeat(MAX_BODY_BYTES)}"}`;
    expect(() => parseWebhookBody(raw)).toThrow(PayloadTooLargeError);
  });

  it('counts UTF-8 bytes, not characters, against the limit', () => {
    const raw = `"${'é'.repeat(MAX_BODY_BYTES / 2)}"`;
    expect(raw.length).toBeLessThan(MAX_BODY_BYTES);
    expect(() => parseWebhookBody(raw)).toThrow(PayloadTooLargeError);
  });
});
