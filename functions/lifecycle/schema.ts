// Lifecycle trigger edge: zod schemas of the Auto Scaling lifecycle-action event, its metadata, and the warm-pool rules.
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import { z } from 'zod';
import { ValidationError } from '../lib/errors.js';
import { LIFECYCLE_PLACES } from '../lib/services/warm-pool.js';

/** The two EventBridge detail-types this trigger handles (the rule in serverless.yml matches exactly these). */
export const LIFECYCLE_DETAIL_TYPES = {
  launch: 'EC2 Instance-launch Lifecycle Action',
  terminate: 'EC2 Instance-terminate Lifecycle Action',
} as const;

/** The two transitions a lifecycle hook can be registered for. */
export const LIFECYCLE_TRANSITIONS = {
  launch: 'autoscaling:EC2_INSTANCE_LAUNCHING',
  terminate: 'autoscaling:EC2_INSTANCE_TERMINATING',
} as const;

// The API documents ASG names as almost any text; we accept the set real names use, so nothing odd reaches logs or keys.
const groupOrHookName = z
  .string()
  .max(255)
  .regex(/^[A-Za-z0-9._:/-]+$/, 'only A-Z a-z 0-9 . _ : / - are allowed');

/** The `detail` of a lifecycle-action event, as AWS documents it; strict so a changed shape is noticed, not guessed at. */
export const lifecycleDetailSchema = z.strictObject({
  // The API fixes the token at 36 characters; AWS's own examples end in "EXAMPLE", so it is not checked as hex.
  LifecycleActionToken: z.string().regex(/^[A-Za-z0-9-]{36}$/, 'must be 36 characters of A-Z a-z 0-9 -'),
  AutoScalingGroupName: groupOrHookName,
  LifecycleHookName: groupOrHookName,
  EC2InstanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/, 'must look like i-0123456789abcdef0'),
  LifecycleTransition: z.enum([LIFECYCLE_TRANSITIONS.launch, LIFECYCLE_TRANSITIONS.terminate]),
  // Absent when the hook has none; its content is parsed separately so a bad value names the metadata, not the event.
  NotificationMetadata: z.string().max(1023).optional(),
  Origin: z.enum(LIFECYCLE_PLACES).optional(),
  Destination: z.enum(LIFECYCLE_PLACES).optional(),
});

/** A validated lifecycle-action detail. */
export type LifecycleDetail = z.infer<typeof lifecycleDetailSchema>;

/** The whole EventBridge event: Powertools' envelope schema with our source, detail-types and detail. */
export const lifecycleEventSchema = EventBridgeSchema.extend({
  source: z.literal('aws.autoscaling'),
  'detail-type': z.enum([LIFECYCLE_DETAIL_TYPES.launch, LIFECYCLE_DETAIL_TYPES.terminate]),
  detail: lifecycleDetailSchema,
}).superRefine((event, ctx) => {
  const kind = event['detail-type'] === LIFECYCLE_DETAIL_TYPES.launch ? 'launch' : 'terminate';
  if (event.detail.LifecycleTransition !== LIFECYCLE_TRANSITIONS[kind]) {
    ctx.addIssue({
      code: 'custom',
      path: ['detail', 'LifecycleTransition'],
      message: `does not match detail-type "${event['detail-type']}"`,
    });
  }
});

/** A validated lifecycle-action EventBridge event. */
export type LifecycleEvent = z.infer<typeof lifecycleEventSchema>;

function toValidationError(what: string, error: z.ZodError): ValidationError {
  return new ValidationError(
    `invalid ${what}`,
    error.issues.map((i) => ({ path: i.path, message: i.message })),
  );
}

/** Validates a whole EventBridge event; throws ValidationError (never anything else) on bad input. */
export function parseLifecycleEvent(input: unknown): LifecycleEvent {
  const result = lifecycleEventSchema.safeParse(input);
  if (!result.success) throw toValidationError('lifecycle event', result.error);
  return result.data;
}

/** Validates a bare `detail` (what the Powertools EventBridge envelope hands over). */
export function parseLifecycleDetail(input: unknown): LifecycleDetail {
  const result = lifecycleDetailSchema.safeParse(input);
  if (!result.success) throw toValidationError('lifecycle detail', result.error);
  return result.data;
}

const metadataSchema = z.strictObject({
  backends: z
    .array(
      z
        .string()
        .max(100)
        .regex(/^[A-Za-z0-9._:-]+$/, 'only A-Z a-z 0-9 . _ : - are allowed'),
    )
    .min(1)
    .max(50),
});

/**
 * Reads a hook's NotificationMetadata. Absent or blank → `{}` (the config's ASG mapping applies);
 * `{"backends":["web"]}` → those backends; anything else → ValidationError, never a SyntaxError.
 */
export function parseNotificationMetadata(text?: string): { backends?: string[] } {
  if (text === undefined || text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new ValidationError('NotificationMetadata is not JSON', [
      {
        path: ['NotificationMetadata'],
        message: `expected JSON like {"backends":["web"]}: ${(cause as Error).message}`,
      },
    ]);
  }
  const result = metadataSchema.safeParse(value);
  if (!result.success) {
    throw new ValidationError(
      'invalid NotificationMetadata',
      result.error.issues.map((i) => ({ path: ['NotificationMetadata', ...i.path], message: i.message })),
    );
  }
  return { backends: [...new Set(result.data.backends)] };
}

/** The transition a detail stands for, in the service's words. */
export function transitionOf(detail: Pick<LifecycleDetail, 'LifecycleTransition'>): 'launch' | 'terminate' {
  return detail.LifecycleTransition === LIFECYCLE_TRANSITIONS.launch ? 'launch' : 'terminate';
}
