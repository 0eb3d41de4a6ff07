// Slot item <-> SlotRecord, and decoding of raw AttributeValue maps that SDK errors carry (the document client leaves those marshalled).
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DRAIN_REASONS, type LifecycleRef, OWNERS, SLOT_STATES, type SlotRecord } from '../domain/types.js';
import { ADMIN_STATES } from '../domain/values.js';
import { ParseError } from '../errors.js';
import { SLOT_PREFIX } from './keys.js';

/** A plain (unmarshalled) table item. */
export type Item = Record<string, unknown>;

function bad(item: Item, why: string): never {
  throw new ParseError(`slot item ${String(item.pk)}/${String(item.sk)} is malformed: ${why}`);
}

function optionalString(item: Item, key: string): string | undefined {
  const v = item[key];
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : bad(item, `${key} is not a string`);
}

function optionalNumber(item: Item, key: string): number | undefined {
  const v = item[key];
  if (v === undefined || v === null) return undefined;
  return typeof v === 'number' && Number.isFinite(v) ? v : bad(item, `${key} is not a number`);
}

function optionalFlag(item: Item, key: string): true | undefined {
  const v = item[key];
  if (v === undefined || v === null || v === false) return undefined;
  return v === true ? true : bad(item, `${key} is not a boolean`);
}

function optionalOneOf<T extends string>(item: Item, key: string, allowed: readonly T[]): T | undefined {
  const v = optionalString(item, key);
  if (v !== undefined && !(allowed as readonly string[]).includes(v)) bad(item, `unknown ${key} ${v}`);
  return v as T | undefined;
}

function lifecycleOf(item: Item, key: 'lifecycle' | 'launch'): LifecycleRef | undefined {
  const v = item[key];
  if (v === undefined || v === null) return undefined;
  const l = v as Record<string, unknown>;
  const fields = ['token', 'hookName', 'asgName', 'instanceId'] as const;
  if (typeof v !== 'object' || fields.some((f) => typeof l[f] !== 'string')) bad(item, `${key} is incomplete`);
  return {
    token: l.token as string,
    hookName: l.hookName as string,
    asgName: l.asgName as string,
    instanceId: l.instanceId as string,
  };
}

/** The SlotRecord a slot item stands for; throws ParseError on anything the store never writes. */
export function itemToRecord(item: Item): SlotRecord {
  const { pk, sk } = item;
  if (typeof pk !== 'string' || typeof sk !== 'string' || !sk.startsWith(SLOT_PREFIX)) bad(item, 'not a slot item');
  const state = optionalOneOf(item, 'state', SLOT_STATES) ?? bad(item, 'no state');
  const version = optionalNumber(item, 'version') ?? bad(item, 'no version');
  const heldFrom = optionalOneOf(item, 'heldFrom', SLOT_STATES);
  if (heldFrom === 'held') bad(item, 'bad heldFrom held');
  const record: Record<string, unknown> = {
    backend: pk,
    slot: sk.slice(SLOT_PREFIX.length),
    state,
    version,
    member: optionalString(item, 'member'),
    address: optionalString(item, 'address'),
    port: optionalNumber(item, 'port'),
    weight: optionalNumber(item, 'weight'),
    owner: optionalOneOf(item, 'owner', OWNERS),
    drainDeadline: optionalNumber(item, 'drainDeadline'),
    drainStartedAt: optionalNumber(item, 'drainStartedAt'),
    drainReason: optionalOneOf(item, 'drainReason', DRAIN_REASONS),
    lifecycle: lifecycleOf(item, 'lifecycle'),
    heartbeatAt: optionalNumber(item, 'heartbeatAt'),
    launch: lifecycleOf(item, 'launch'),
    launchDeadline: optionalNumber(item, 'launchDeadline'),
    heldAdmin: optionalOneOf(item, 'heldAdmin', ADMIN_STATES),
    heldFrom,
    dynamic: optionalFlag(item, 'dynamic'),
  };
  // Absent rather than undefined-valued keys, so records compare cleanly with toEqual and print without noise.
  for (const key of Object.keys(record)) if (record[key] === undefined) delete record[key];
  return record as unknown as SlotRecord;
}

/** Decodes a raw AttributeValue map (as found on ConditionalCheckFailed / CancellationReasons) into a plain item. */
export function decodeItem(raw: Record<string, AttributeValue> | undefined): Item | undefined {
  if (!raw) return undefined;
  const out: Item = {};
  for (const [key, value] of Object.entries(raw)) out[key] = decodeValue(value);
  return out;
}

function decodeValue(v: AttributeValue): unknown {
  if (v.S !== undefined) return v.S;
  if (v.N !== undefined) return Number(v.N);
  if (v.BOOL !== undefined) return v.BOOL;
  if (v.NULL !== undefined) return null;
  if (v.M !== undefined) return decodeItem(v.M);
  if (v.L !== undefined) return v.L.map(decodeValue);
  if (v.SS !== undefined) return new Set(v.SS);
  if (v.NS !== undefined) return new Set(v.NS.map(Number));
  return undefined; // binary types: the store never writes them
}
