// The storm benchmark's "programmed" instant, from timed fleet calls (pure: no benchmark is run here).
import { describe, expect, it } from 'vitest';
import { type PortCall, programmedOnEveryHost } from '../../../bench/timing-ports.js';
import { type Command, setAddr, setState, showStat } from '../../../functions/lib/domain/commands.js';
import type { HostBatch, HostResult } from '../../../functions/lib/domain/types.js';

const HOSTS = ['h1', 'h2'];

/** A fleet `run` that ended at `end`: per host its commands, and which of their replies failed (by index). */
function run(
  end: number,
  perHost: Record<string, readonly Command[]>,
  failed: Record<string, number[]> = {},
): PortCall {
  const batches: HostBatch[] = Object.entries(perHost).map(([host, commands]) => ({ host, commands }));
  const result: HostResult[] = batches.map((b) => ({
    host: b.host,
    ok: !(failed[b.host]?.length ?? 0),
    replies: b.commands.map((c, i) => ({ command: c.kind, ok: !failed[b.host]?.includes(i), reply: '' })),
  }));
  return { port: 'fleet', method: 'run', start: end - 1, end, args: [batches], result, failed: false };
}

const program = (slot: string, address: string) => [setAddr('web', slot, address, 80), setState('web', slot, 'ready')];

describe('programmedOnEveryHost', () => {
  it('is the latest host to confirm address then ready, each host counted at its first such call', () => {
    const calls = [
      run(30, { h2: program('web1', '127.0.0.1') }),
      run(10, { h1: program('web1', '127.0.0.1') }),
      run(50, { h1: program('web1', '127.0.0.1'), h2: program('web1', '127.0.0.1') }),
    ];
    expect(programmedOnEveryHost(calls, HOSTS)).toEqual(new Map([['web/web1 127.0.0.1', 30]]));
  });

  it('takes the address from an earlier call (3.x: addr first, ready behind it) and keys by address', () => {
    const calls = [
      run(10, { h1: [setAddr('web', 'web2', '127.0.0.2', 80)], h2: [setAddr('web', 'web2', '127.0.0.2', 80)] }),
      run(20, { h1: [setState('web', 'web2', 'ready')], h2: [showStat('web'), setState('web', 'web2', 'ready')] }),
    ];
    expect(programmedOnEveryHost(calls, HOSTS)).toEqual(new Map([['web/web2 127.0.0.2', 20]]));
  });

  it('leaves out a slot a host never confirmed: a failed reply, ready before any address, or drain', () => {
    const calls = [
      run(10, { h1: program('web1', '127.0.0.1'), h2: program('web1', '127.0.0.1') }, { h2: [1] }),
      run(20, { h1: [setState('web', 'web3', 'ready')], h2: [setState('web', 'web3', 'ready')] }),
      run(30, {
        h1: [setAddr('web', 'web4', '127.0.0.4', 80), setState('web', 'web4', 'drain')],
        h2: [setAddr('web', 'web4', '127.0.0.4', 80), setState('web', 'web4', 'drain')],
      }),
    ];
    expect(programmedOnEveryHost(calls, HOSTS)).toEqual(new Map());
  });
});
