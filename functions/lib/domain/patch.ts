// Domain: a change to one slot record as data, and applying it in memory (the store writes the same patch to DynamoDB).
import type { SlotRecord } from './types.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
/** The record fields a transition may write (never the keys, the version, which the store owns, or `dynamic`). */
export type SlotFields = Partial<Mutable<Omit<SlotRecord, 'backend' | 'slot' | 'version' | 'dynamic'>>>;
export type SlotField = keyof SlotFields;

/** Fields to set and fields to remove, written together under a version guard. */
export interface SlotPatch {
  readonly set?: Readonly<SlotFields>;
  readonly remove?: readonly SlotField[];
}

/** Everything that belongs to a member: a freed slot drops all of it. */
export const OWNER_FIELDS = [
  'member',
  'address',
  'port',
  'weight',
  'owner',
  'drainDeadline',
  'drainStartedAt',
  'drainReason',
  'lifecycle',
  'heartbeatAt',
  'launch',
  'launchDeadline',
] as const satisfies readonly SlotField[];

/** What an operator's hold adds. */
export const HOLD_FIELDS = ['heldAdmin', 'heldFrom'] as const satisfies readonly SlotField[];

/** Fields of a drain in progress. */
export const DRAIN_FIELDS = [
  'drainDeadline',
  'drainStartedAt',
  'drainReason',
  'lifecycle',
  'heartbeatAt',
] as const satisfies readonly SlotField[];

/** Fields of a launch handed over to reconcile. */
export const LAUNCH_FIELDS = ['launch', 'launchDeadline'] as const satisfies readonly SlotField[];

/** The record after `patch`, version bumped: exactly what the DynamoDB store's conditional update produces. */
export function applyPatch(record: SlotRecord, patch: SlotPatch): SlotRecord {
  const next: Record<string, unknown> = { ...record };
  for (const key of patch.remove ?? []) if (patch.set?.[key] === undefined) delete next[key];
  for (const [key, value] of Object.entries(patch.set ?? {})) if (value !== undefined) next[key] = value;
  next.version = record.version + 1;
  return next as unknown as SlotRecord;
}
