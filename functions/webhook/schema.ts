// Webhook trigger edge: zod schemas of `POST /hooks/deploy` bodies, normalised into one discriminated request type.

import { z } from 'zod';
import { ipv4Bytes, ipv6Bytes } from '../lib/domain/address-policy.js';
import { PayloadTooLargeError, ValidationError } from '../lib/errors.js';

/** Bodies above this many bytes (UTF-8) are refused before JSON parsing (413). */
export const MAX_BODY_BYTES = 256 * 1024;
/** Most changes one batch may carry. */
export const MAX_CHANGES = 500;
/** Most members one desired set may list. */
export const MAX_MEMBERS = 1000;

/** What one change asks for. */
export const WEBHOOK_ACTIONS = ['register', 'deregister', 'drain', 'ready', 'maint', 'weight'] as const;
export type WebhookAction = (typeof WEBHOOK_ACTIONS)[number];

const name = (what: string) =>
  z
    .string()
    .max(100)
    .regex(/^[A-Za-z0-9._:-]+$/, `${what}: only A-Z a-z 0-9 . _ : - are allowed`);

// Only the syntax here: which literal addresses a backend accepts is its address policy's call (one refusal naming
// the rule, 400 ADDRESS_REFUSED), made in the service where the address enters.
function isAddress(value: string): boolean {
  return (ipv4Bytes(value) ?? ipv6Bytes(value)) !== undefined;
}

/** A member: id, literal address (the backend's address policy and the command builders check it again), port. */
export const memberSchema = z.strictObject({
  id: name('id'),
  // 45 = longest textual IPv6 (with an embedded IPv4); the cap keeps a huge string away from the IP parser.
  address: z.string().max(45).refine(isAddress, 'must be a literal IPv4 or IPv6 address'),
  port: z.number().int().min(1).max(65535),
});

/** One change to one member of one backend; `weight` is required for, and only allowed with, action `weight`. */
export const changeSchema = z
  .strictObject({
    action: z.enum(WEBHOOK_ACTIONS),
    backend: name('backend'),
    member: memberSchema,
    weight: z.number().int().min(0).max(256).optional(),
  })
  .superRefine((change, ctx) => {
    if (change.action === 'weight' && change.weight === undefined) {
      ctx.addIssue({ code: 'custom', path: ['weight'], message: 'required when action is "weight"' });
    }
    if (change.action !== 'weight' && change.weight !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['weight'], message: 'only allowed when action is "weight"' });
    }
  });

/** A batch: applied in order, so `register` then `weight` for the same member is fine. */
export const batchSchema = z.strictObject({ changes: z.array(changeSchema).min(1).max(MAX_CHANGES) });

/**
 * A desired member set for a backend (what a Consul watch sends): everyone not listed is deregistered.
 * An empty list would drain the whole backend, which is what a broken watch or template also sends,
 * so it is refused unless the caller says `"allowEmpty": true`.
 */
export const desiredSchema = z
  .strictObject({
    backend: name('backend'),
    members: z.array(memberSchema).max(MAX_MEMBERS),
    allowEmpty: z.boolean().optional(),
  })
  .superRefine((body, ctx) => {
    if (body.members.length === 0 && body.allowEmpty !== true) {
      ctx.addIssue({
        code: 'custom',
        path: ['members'],
        message: 'empty: this would deregister every member; send "allowEmpty": true if that is meant',
      });
    }
    const ids = new Set<string>();
    const endpoints = new Set<string>();
    body.members.forEach((m, i) => {
      if (ids.has(m.id)) ctx.addIssue({ code: 'custom', path: ['members', i, 'id'], message: `duplicate id ${m.id}` });
      // Two ids on one endpoint would give one server two slots and double its share of traffic.
      const endpoint = `${m.address}|${m.port}`;
      if (endpoints.has(endpoint)) {
        ctx.addIssue({ code: 'custom', path: ['members', i], message: 'duplicate address and port' });
      }
      ids.add(m.id);
      endpoints.add(endpoint);
    });
  });

/** A validated member. */
export type WebhookMember = z.infer<typeof memberSchema>;
/** A validated change. */
export type WebhookChange = z.infer<typeof changeSchema>;

/** Every accepted body, normalised: a single change becomes a batch of one. */
export type WebhookRequest =
  | { readonly kind: 'changes'; readonly changes: readonly WebhookChange[] }
  | { readonly kind: 'desired'; readonly backend: string; readonly members: readonly WebhookMember[] };

type Issues = ValidationError['issues'];

function check<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues: Issues = result.error.issues.map((i) => ({ path: i.path, message: i.message }));
  throw new ValidationError('invalid webhook body', issues);
}

/** Parses a raw body: 413 outcome (PayloadTooLargeError) when too big, ValidationError for bad JSON or shape. */
export function parseWebhookBody(raw: string): WebhookRequest {
  const size = Buffer.byteLength(raw, 'utf8');
  if (size > MAX_BODY_BYTES) throw new PayloadTooLargeError(size, MAX_BODY_BYTES);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (cause) {
    throw new ValidationError('webhook body is not JSON', [{ path: [], message: (cause as Error).message }]);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError('invalid webhook body', [{ path: [], message: 'expected a JSON object' }]);
  }
  // Dispatch on the distinguishing key so the issues describe the shape the caller meant, not all three.
  if (Object.hasOwn(value, 'changes')) return { kind: 'changes', changes: check(batchSchema, value).changes };
  if (Object.hasOwn(value, 'members')) {
    const { backend, members } = check(desiredSchema, value);
    return { kind: 'desired', backend, members };
  }
  return { kind: 'changes', changes: [check(changeSchema, value)] };
}

/**
 * The HTTP API event as the handler needs it after `verifyWebhook`: the body parsed into a WebhookRequest (with the
 * same messages as parseWebhookBody), and the canonical key the signature check put on the event. Only these two are
 * read; the rest of the event (shaped by API Gateway or serverless-offline) is not the handler's business.
 */
export const webhookEventSchema = z.object({
  body: z.string().transform((raw, ctx): WebhookRequest => {
    try {
      return parseWebhookBody(raw);
    } catch (error) {
      for (const issue of (error as ValidationError).issues ?? [{ path: [], message: String(error) }])
        ctx.addIssue({ code: 'custom', path: [...issue.path] as (string | number)[], message: issue.message });
      return z.NEVER;
    }
  }),
  slotSync: z.object({ key: z.string().min(1), bodyHash: z.string().length(64) }),
});

/** A verified, parsed webhook event. */
export type WebhookEvent = z.infer<typeof webhookEventSchema>;
