// Operator CLI `hook`: its options turned into one webhook request (what to send, where, signed with which secret).
import type { COMMANDS } from './spec.js';
import { UsageError } from './usage.js';

/** The changes `hook` sends (the spec's list): the webhook's actions, and `set` for a backend's whole member set. */
export type HookAction = (typeof COMMANDS.hook.choices)[number];

/** A member as the webhook body carries it. */
export interface HookMember {
  readonly id: string;
  readonly address: string;
  readonly port: number;
}

/** A parsed `hook` command line. */
export interface HookArgs {
  readonly action: HookAction;
  readonly url: string;
  /** The name of the variable holding the secret (the secret itself never appears in argv or `ps`). */
  readonly secretEnv: string;
  readonly backend: string;
  readonly member?: HookMember;
  readonly weight?: number;
  readonly members?: readonly HookMember[];
  readonly allowEmpty: boolean;
  readonly id?: string;
}

type Values = Readonly<Record<string, string | boolean | undefined>>;

function required(values: Values, name: string, action: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`'hook ${action}' needs --${name}`);
  return value;
}

function refused(values: Values, names: readonly string[], action: string): void {
  const given = names.find((n) => values[n] !== undefined);
  if (given) throw new UsageError(`'hook ${action}' does not take --${given}`);
}

function integer(flag: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!/^[0-9]+$/.test(raw) || value < min || value > max) {
    throw new UsageError(`${flag} wants an integer from ${min} to ${max}, not '${raw}'`);
  }
  return value;
}

/** `ID=ADDRESS:PORT` or `ID=[IPV6]:PORT`. */
function memberEntry(entry: string): HookMember {
  const match = /^([^=]+)=(?:\[([^\]]+)\]|([^:[\]]+)):([^:]+)$/.exec(entry);
  if (!match) {
    throw new UsageError(`--members entry '${entry}' is not ID=ADDRESS:PORT (IPv6: ID=[ADDRESS]:PORT)`);
  }
  const [, id = '', v6, v4, port = ''] = match;
  return { id, address: v6 ?? v4 ?? '', port: integer(`--members ${id}`, port, 1, 65535) };
}

/** Checks which options the action needs and takes; throws UsageError with one sentence otherwise. */
export function parseHookArgs(action: string, values: Values): HookArgs {
  const url = required(values, 'url', action);
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
    throw new UsageError(`--url wants an http(s) URL, not '${url}'`);
  }
  const secretEnv = required(values, 'secret-env', action);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(secretEnv)) {
    throw new UsageError(`--secret-env wants the name of an environment variable, not '${secretEnv}'`);
  }
  const base = {
    action: action as HookAction,
    url,
    secretEnv,
    backend: required(values, 'backend', action),
    allowEmpty: values['allow-empty'] === true,
    ...(typeof values.id === 'string' ? { id: values.id } : {}),
  };
  if (action === 'set') {
    refused(values, ['member', 'address', 'port', 'weight'], action);
    const list = values.members;
    if (typeof list !== 'string')
      throw new UsageError("'hook set' needs --members (use --members '' --allow-empty for none)");
    const entries = list
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    return { ...base, members: entries.map(memberEntry) };
  }
  refused(values, ['members', 'allow-empty'], action);
  if (action !== 'weight') refused(values, ['weight'], action);
  const member = {
    id: required(values, 'member', action),
    address: required(values, 'address', action),
    port: integer('--port', required(values, 'port', action), 1, 65535),
  };
  if (action !== 'weight') return { ...base, member };
  return { ...base, member, weight: integer('--weight', required(values, 'weight', action), 0, 256) };
}
