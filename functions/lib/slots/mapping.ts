// Slot item <-> SlotRecord, and decoding of raw AttributeValue maps that SDK errors carry (the document client leaves those marshalled).
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { LifecycleRef, SlotRecord, SlotState } from '../domain.js';
import { ParseError } from '../errors.js';
import { ADMIN_STATES, type AdminState } from '../haproxy/commands.js';
import { SLOT_PREFIX } from './keys.js';

/** A plain (unmarshalled) table item. */
export type Item = Record<string, unknown>;

export const SLOT_STATES = ['free', 'active', 'draining', 'held'] as const satisfies readonly SlotState[];

/** Attributes that belong to an owner; a freed slot drops all of them. */
export const OWNER_ATTRIBUTES = ['member', 'address', 'port', 'weight', 'drainDeadline', 'lifecycle'] as const;

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

function lifecycleOf(item: Item): LifecycleRef | undefined {
  const v = item.lifecycle;
  if (v === undefined || v === null) return undefined;
  const l = v as Record<string, unknown>;
  const fields = ['token', 'hookName', 'asgName', 'instanceId'] as const;
  if (typeof v !== 'object' || fields.some((f) => typeof l[f] !== 'string')) bad(item, 'lifecycle is incomplete');
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
  const state = item.state as SlotState;
  if (!SLOT_STATES.includes(state)) bad(item, `unknown state ${String(item.state)}`);
  const version = optionalNumber(item, 'version') ?? bad(item, 'no version');
  const heldAdmin = optionalString(item, 'heldAdmin') as AdminState | undefined;
  if (heldAdmin !== undefined && !ADMIN_STATES.includes(heldAdmin)) bad(item, `unknown heldAdmin ${heldAdmin}`);
  const heldFrom = optionalString(item, 'heldFrom');
  if (heldFrom !== undefined && (heldFrom === 'held' || !SLOT_STATES.includes(heldFrom as SlotState)))
    bad(item, `bad heldFrom ${heldFrom}`);
  const record: Record<string, unknown> = {
    backend: pk,
    slot: sk.slice(SLOT_PREFIX.length),
    state,
    version,
    member: optionalString(item, 'member'),
    address: optionalString(item, 'address'),
    port: optionalNumber(item, 'port'),
    weight: optionalNumber(item, 'weight'),
    drainDeadline: optionalNumber(item, 'drainDeadline'),
    lifecycle: lifecycleOf(item),
    heldAdmin,
    heldFrom,
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
