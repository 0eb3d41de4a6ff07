// Benchmark check, independent of the code under test: reads `show stat` back from every host with its own small
// parser and compares each slot with the table, so a pass that reports success but fixed nothing is caught.
import { type Command, showStat } from '../functions/lib/domain/commands.js';
import type { SlotRecord } from '../functions/lib/domain/types.js';
import { renderCommand } from '../functions/lib/haproxy/commands.js';
import { sendBatch } from '../functions/lib/haproxy/transport.js';

/** How the slots of all hosts compare with the table. */
export interface Readback {
  /** Slots (host × slot) that show what the table wants. */
  readonly matching: number;
  /**
   * Active slots a host shows in MAINT at another address: the planner's first step for a slot that was live at a
   * wrong address (MAINT first; re-addressed by the next pass once it shows no session, ARCHITECTURE "Planner" rule 2).
   */
  readonly awaitingReaddress: number;
  /** Every other difference, with up to 5 examples. */
  readonly other: number;
  readonly examples: readonly string[];
}

/** What one slot must look like in `show stat` (no health checks here: a READY slot reads `no check`). */
function want(r: SlotRecord): { status: string; addr?: string; weight?: number } {
  if (r.state === 'active') return { status: 'no check', addr: `${r.address}:${r.port}`, weight: r.weight };
  if (r.state === 'free') return { status: 'MAINT' };
  throw new Error(`readback covers free and active slots only, not ${r.state} (${r.backend}/${r.slot})`);
}

/** Parses `show stat` by header name with a plain split: these replies carry no quoted field (checked). */
function rows(text: string): Map<string, { status: string; addr: string; weight: number }> {
  if (text.includes('"')) throw new Error('readback: a show stat reply has quoted fields');
  const [head = '', ...lines] = text.split('\n');
  const header = head.replace(/^# /, '').split(',');
  const at = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`readback: show stat has no ${name} column`);
    return i;
  };
  const [px, sv, status, addr, uweight, type] = ['pxname', 'svname', 'status', 'addr', 'uweight', 'type'].map(at);
  const out = new Map<string, { status: string; addr: string; weight: number }>();
  for (const line of lines) {
    if (line === '') continue;
    const f = line.split(',');
    if (f[type as number] !== '2') continue;
    out.set(`${f[px as number]}/${f[sv as number]}`, {
      status: f[status as number] ?? '',
      addr: f[addr as number] ?? '',
      weight: Number(f[uweight as number]),
    });
  }
  return out;
}

/** Reads every host's `show stat` for the records' backends (one connection per host, hosts in parallel). */
export async function readback(
  statsPorts: ReadonlyMap<string, number>,
  hosts: readonly string[],
  records: readonly SlotRecord[],
): Promise<Readback> {
  const backends = [...new Set(records.map((r) => r.backend))];
  const commands: Command[] = backends.map((b) => showStat(b));
  const perHost = await Promise.all(
    hosts.map(async (host) => {
      const port = statsPorts.get(host);
      if (port === undefined) throw new Error(`no stats port for ${host}`);
      const endpoint = { kind: 'tcp', host: '127.0.0.1', port } as const;
      const replies = await sendBatch(host, endpoint, commands.map(renderCommand), {
        connectTimeoutMs: 1_000,
        deadlineMs: 30_000,
      });
      return { host, seen: new Map(replies.flatMap((reply) => [...rows(reply)])) };
    }),
  );
  let matching = 0;
  let awaitingReaddress = 0;
  const examples: string[] = [];
  let other = 0;
  for (const { host, seen } of perHost) {
    for (const r of records) {
      const w = want(r);
      const s = seen.get(`${r.backend}/${r.slot}`);
      const ok =
        s !== undefined &&
        s.status === w.status &&
        (w.addr === undefined || s.addr === w.addr) &&
        (w.weight === undefined || s.weight === w.weight);
      if (ok) matching++;
      else if (r.state === 'active' && s?.status === 'MAINT' && s.addr !== w.addr) awaitingReaddress++;
      else {
        other++;
        if (examples.length < 5)
          examples.push(`${host} ${r.backend}/${r.slot}: ${JSON.stringify(s)} ≠ ${JSON.stringify(w)}`);
      }
    }
  }
  return { matching, awaitingReaddress, other, examples };
}
