// One host's lane: at most one Runtime API connection to the host at a time per fleet (one per invocation), and every
// call that arrives while it is busy — or in the same tick — goes out together in the next pipelined batch
// (ARCHITECTURE.md, "Connections"). A batch of ten launches is then one round trip per host, not ten connections.
import type { Command } from '../domain/commands.js';
import { StalePlanError } from '../errors.js';
import type { HostClient, SendOptions } from './client.js';
import { renderCommand } from './commands.js';

interface Segment {
  readonly commands: readonly Command[];
  readonly notAfter?: number;
  resolve(raw: string[]): void;
  reject(error: unknown): void;
}

const READS = new Set<Command['kind']>(['show-info', 'show-stat', 'show-servers-state', 'get-weight']);

/** What `exchange` on a lane is: the raw replies of exactly these commands, as if sent alone. */
export interface Lane {
  exchange(commands: readonly Command[], options?: SendOptions): Promise<string[]>;
}

/**
 * A lane over a client. Merging keeps each caller's commands in order and callers in arrival order; an identical read
 * that a batch already carries (e.g. two launches' `show stat web`) is sent once, unless a write lies between the two,
 * so no read is moved across a write. A merged batch is written only while every plan in it is fresh: when the
 * connection came up too late for some, those fail with StalePlanError alone and the others go out again.
 */
export function laneOf(client: HostClient): Lane {
  const queue: Segment[] = [];
  let busy = false;

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const now = Date.now();
      const batch = queue.splice(0);
      const fresh: Segment[] = [];
      for (const s of batch) {
        if (s.notAfter !== undefined && now > s.notAfter) s.reject(new StalePlanError(client.name, now - s.notAfter));
        else fresh.push(s);
      }
      if (fresh.length === 0) continue;
      const { commands, slices } = merge(fresh);
      const deadlines = fresh.map((s) => s.notAfter).filter((n): n is number => n !== undefined);
      const notAfter = deadlines.length > 0 ? Math.min(...deadlines) : undefined;
      try {
        const raw = await client.exchange(commands, { notAfter });
        fresh.forEach((s, i) => {
          s.resolve((slices[i] as number[]).map((at) => raw[at] ?? ''));
        });
      } catch (error) {
        if (error instanceof StalePlanError && fresh.length > 1) {
          // Too late for the earliest plan only: it fails, the rest go in the next round (nothing was written).
          const late = Date.now();
          for (const s of fresh) {
            if (s.notAfter !== undefined && late > s.notAfter) s.reject(error);
            else queue.unshift(s);
          }
          continue;
        }
        for (const s of fresh) s.reject(error);
      }
    }
    busy = false;
  }

  return {
    exchange(commands, options) {
      if (commands.length === 0) return Promise.resolve([]);
      return new Promise<string[]>((resolve, reject) => {
        queue.push({ commands, notAfter: options?.notAfter, resolve, reject });
        if (busy) return;
        busy = true;
        // The callers of this tick (a batch's records, a run and its read-back) join before the connection opens.
        setImmediate(() => void drain());
      });
    },
  };
}

/** One command list for several segments; `slices[i]` says where segment i's replies are. */
function merge(segments: readonly Segment[]): { commands: Command[]; slices: number[][] } {
  const commands: Command[] = [];
  const slices: number[][] = [];
  let reads = new Map<string, number>();
  for (const s of segments) {
    const at: number[] = [];
    for (const c of s.commands) {
      if (READS.has(c.kind)) {
        const line = renderCommand(c);
        const seen = reads.get(line);
        if (seen !== undefined) {
          at.push(seen);
          continue;
        }
        reads.set(line, commands.length);
      } else {
        reads = new Map();
      }
      at.push(commands.length);
      commands.push(c);
    }
    slices.push(at);
  }
  return { commands, slices };
}
