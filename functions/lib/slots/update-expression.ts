// Builds the UpdateItem expressions of a slot write: a patch plus a guard, with the version bump every write carries.
import type { SlotPatch } from '../domain/patch.js';
import type { SlotState } from '../domain/types.js';

export type { SlotPatch } from '../domain/patch.js';

/** Equalities the item must still satisfy for the write to apply (optimistic concurrency). */
export interface Guard {
  readonly version?: number;
  readonly member?: string;
  readonly state?: SlotState;
}

/** The expression part of an UpdateItem / transactional Update request. */
export interface UpdateExpressions {
  readonly UpdateExpression: string;
  readonly ConditionExpression: string;
  readonly ExpressionAttributeNames: Record<string, string>;
  readonly ExpressionAttributeValues: Record<string, unknown>;
}

/** Expressions for `patch` applied only while `guard` holds; every write bumps `version` by one. */
export function slotUpdate(patch: SlotPatch, guard: Guard): UpdateExpressions {
  const names: Record<string, string> = { '#pk': 'pk', '#version': 'version' };
  const values: Record<string, unknown> = { ':one': 1 };
  const sets = ['#version = #version + :one'];
  for (const [attr, value] of Object.entries(patch.set ?? {}) as [string, unknown][]) {
    if (value === undefined) continue;
    names[`#${attr}`] = attr;
    values[`:set_${attr}`] = value;
    sets.push(`#${attr} = :set_${attr}`);
  }
  const removes: string[] = (patch.remove ?? []).filter((attr) => patch.set?.[attr] === undefined);
  for (const attr of removes) names[`#${attr}`] = attr;
  const conditions = ['attribute_exists(#pk)'];
  for (const [attr, value] of Object.entries(guard)) {
    if (value === undefined) continue;
    names[`#${attr}`] = attr;
    values[`:if_${attr}`] = value;
    conditions.push(`#${attr} = :if_${attr}`);
  }
  return {
    UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.map((a) => `#${a}`).join(', ')}` : ''}`,
    ConditionExpression: conditions.join(' AND '),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}
