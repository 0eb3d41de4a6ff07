// `slot-sync reconcile`'s exit code with in-memory ports: "in step" is what the check after the pass says.
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../../bin/cli/args.js';
import { EXIT } from '../../../bin/cli/exit-codes.js';
import { runReconcile } from '../../../bin/cli/reconcile.js';
import type { HostBatch, HostResult } from '../../../functions/lib/domain/types.js';
import { fakeWorld, type World } from '../../support/fakes/world.js';

/** The world's fleet, except that its `n`th run comes back stale on every host: the plan expired, nothing was sent. */
function staleOnRun(w: World, n: number) {
  let runs = 0;
  const fleet = w.deps.fleet;
  return {
    ...w.deps,
    fleet: Object.assign(Object.create(fleet), {
      run: async (batches: readonly HostBatch[]): Promise<readonly HostResult[]> => {
        runs++;
        if (runs !== n) return fleet.run(batches);
        const error = { code: 'STALE_PLAN', message: 'plan expired 184ms before it could be written; not sent' };
        return batches.map((b) => ({ host: b.host, ok: false, replies: [], error }));
      },
    }),
  };
}

async function reconcileCli(w: World, deps: World['deps']) {
  const lines: string[] = [];
  const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) };
  const ctx = { config: w.config, tableName: 'slots', deps, close: () => {} };
  const code = await runReconcile(parseCommandLine(['reconcile']), ctx, io);
  return { code, text: lines.join('\n') };
}

describe('slot-sync reconcile', () => {
  it('exits 0 when a round went stale (never written) and a later round brought the hosts in step', async () => {
    // 3.x: the address first, then the drain behind the health gate; that second round's plan expires unsent.
    const w = fakeWorld({
      version: '3.0.11',
      backends: [{ name: 'web', check: true, healthGate: { enabled: true, timeoutSeconds: 5 } }],
    });
    await w.seed();
    const member = w.member('m-1', '10.0.0.1');
    w.fleet.setHealth('10.0.0.1', 'passing');
    // Claimed in the table only (no host has it yet): what reconcile must program.
    const claimed = await w.store.claim('web', member, { weight: 1, owner: 'webhook' });
    const deps = staleOnRun(w, 2);
    const out = await reconcileCli(w, deps);
    // The later rounds planned the slot afresh and wrote it: the stale round lost nothing, no host is named failed.
    expect(out.text).not.toContain('STALE_PLAN');
    expect(out.text).toMatch(/0 drift remaining · 0 failed$/m);
    expect(out.code).toBe(EXIT.ok);
    expect(w.fleet.hosts.map((h) => w.fleet.slot(h, 'web', claimed.record.slot).admin)).toEqual([
      'ready',
      'ready',
      'ready',
    ]);
  });

  it('still exits 1 for a host that failed for real', async () => {
    const w = fakeWorld();
    await w.seed();
    await w.store.claim('web', w.member('m-1', '10.0.0.1'), { weight: 1, owner: 'webhook' });
    w.fleet.setMode('hap2', 'down');
    const out = await reconcileCli(w, staleOnRun(w, 99));
    expect(out.text).toContain('HOST_UNREACHABLE');
    expect(out.code).toBe(EXIT.failed);
  });

  it('exits 1 and says what to attach when AWS refuses the credentials a lifecycle completion', async () => {
    const w = fakeWorld();
    await w.seed();
    const ref = w.ref('i-1');
    await w.store.owe({ ref, result: 'CONTINUE', backend: '' });
    const message = `User: arn:aws:iam::111122223333:user/ops is not authorized to perform:
 autoscaling:CompleteLifecycleAction on resource: ${ref.asgName}`;
    const denied = Object.assign(new Error(message), { name: 'AccessDenied' });
    const refusing = Object.assign(Object.create(w.deps.lifecycle), { complete: () => Promise.reject(denied) });
    const out = await reconcileCli(w, { ...w.deps, lifecycle: refusing });
    expect(out.code).toBe(EXIT.failed);
    expect(out.text).toContain(
      `  completion of i-1 (${ref.token}): AccessDenied: User: arn:aws:iam::111122223333:user/ops is not authorized to perform: autoscaling:CompleteLifecycleAction on resource: ${ref.asgName} (attach the stack's OperatorPolicy`,
    );
    // Hosts in step, nothing else wrong: the refusal alone decides the exit code.
    expect(out.text).toMatch(/0 drift remaining · 0 failed$/m);
  });
});
