// The machine's side effects with in-memory ports: every lifecycle action completed exactly once (the outbox, leases,
// "gone"), completions that wait for the member's last slot or launch, retirements and heartbeats.
import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../../functions/lib/errors.js';
import {
  abandonOnceFree,
  continueOnce,
  runEffects,
  settle,
  settleOwed,
} from '../../../functions/lib/services/effects.js';
import { fakeWorld, type World } from '../../support/fakes/world.js';

const owedTokens = async (w: World) => (await w.store.owedCompletions()).map((o) => o.ref.token);

/** i-1 in a slot of web and of api, its launch handed over (pending, deadline `now + deadlineMs`) in both. */
async function pendingInBoth(w: World, deadlineMs: number) {
  const ref = w.ref('i-1');
  const now = w.clock.now();
  const pending = { kind: 'launch-pending', now, lifecycle: ref, deadline: now + deadlineMs } as const;
  for (const b of ['web', 'api']) {
    await w.seed(b);
    await w.store.claim(b, w.member('i-1', '10.0.0.1', b), { weight: 1, owner: 'asg' });
    await w.store.apply(b, { member: 'i-1' }, pending);
  }
  return { ref, now, pending };
}

/** The completions that running an applied decision's effects came to. */
async function completionsOf(w: World, applied: Awaited<ReturnType<World['store']['apply']>>) {
  const effects = applied.decision.type === 'write' ? applied.decision.effects : [];
  return (await runEffects(effects, w.config, w.deps)).completions;
}

describe('continueOnce and settle', () => {
  it('completes an action once; every later or concurrent attempt answers duplicate and sends nothing', async () => {
    const w = fakeWorld();
    const ref = w.ref('i-1');
    const out = await Promise.all([1, 2, 3].map(() => continueOnce(ref, w.config, w.deps)));
    expect(out.sort()).toEqual(['CONTINUE', 'duplicate', 'duplicate']);
    // An ABANDON for the token now is too late as well.
    expect(await abandonOnceFree(ref, w.config, w.deps)).toBe('duplicate');
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['CONTINUE']);
    expect(await owedTokens(w)).toEqual([]);
  });

  it('takes "no active lifecycle action" as final: gone, and marked done', async () => {
    const w = fakeWorld();
    const ref = w.ref('i-1');
    w.lifecycle.expire(ref.token);
    expect(await continueOnce(ref, w.config, w.deps)).toBe('gone');
    expect(await owedTokens(w)).toEqual([]);
    expect(w.log.messages('info')).toEqual(['lifecycle action already gone']);
  });

  it('gives the lease back when AWS fails, so the next attempt completes it', async () => {
    const w = fakeWorld();
    const ref = w.ref('i-1');
    w.lifecycle.failNext('complete', new Error('Rate exceeded'));
    await expect(continueOnce(ref, w.config, w.deps)).rejects.toThrow('Rate exceeded');
    expect(await owedTokens(w)).toEqual([ref.token]);
    expect(await settleOwed(w.config, w.deps)).toEqual({
      settled: [{ token: ref.token, completion: 'CONTINUE' }],
      failed: [],
    });
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['CONTINUE']);
  });

  it('answers the completion AWS accepted even when marking it done fails; reconcile later finds it gone, done', async () => {
    const w = fakeWorld();
    const ref = w.ref('i-1');
    w.store.failNext('settleCompletion', new StoreUnavailableError('throttled'));
    expect(await continueOnce(ref, w.config, w.deps)).toBe('CONTINUE');
    expect(w.log.messages('warn')).toEqual([
      'lifecycle action completed, not yet recorded as done: reconcile records it',
    ]);
    // Still owed and leased: a redelivery answers duplicate and sends nothing.
    expect(await owedTokens(w)).toEqual([ref.token]);
    expect(await continueOnce(ref, w.config, w.deps)).toBe('duplicate');
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['CONTINUE']);
    // Once the lease runs out, reconcile's pass asks AWS again, hears "gone", and marks it done.
    w.clock.advance(w.config.timeouts.commandMs * 2 + 1);
    expect(await settleOwed(w.config, w.deps)).toEqual({
      settled: [{ token: ref.token, completion: 'gone' }],
      failed: [],
    });
    expect(await owedTokens(w)).toEqual([]);
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['CONTINUE']);
  });

  it('leaves an owed completion alone while another caller holds its lease', async () => {
    const w = fakeWorld();
    const ref = w.ref('i-1');
    await w.store.owe({ ref, result: 'CONTINUE', backend: '' });
    expect(await w.store.leaseCompletion(ref.token, 60_000)).toBeDefined();
    expect(await settle(ref.token, w.config, w.deps)).toBe('duplicate');
    expect(w.lifecycle.completions).toEqual([]);
  });

  it('waits with a terminate’s completion while the member still holds a slot in another backend', async () => {
    const w = fakeWorld({ backends: [{ name: 'web' }, { name: 'api' }] });
    await w.seed('api');
    await w.store.claim('api', w.member('i-1', '10.0.0.1', 'api'), { weight: 1, owner: 'asg' });
    const ref = w.ref('i-1');
    await w.store.owe({ ref, result: 'CONTINUE', after: 'last-slot', backend: 'web' });
    expect(await settle(ref.token, w.config, w.deps)).toBe('later');
    expect(w.lifecycle.completions).toEqual([]);
    expect(await owedTokens(w)).toEqual([ref.token]);
    await w.store.apply('api', { member: 'i-1' }, { kind: 'release' });
    expect(await settle(ref.token, w.config, w.deps)).toBe('CONTINUE');
  });

  it('waits with a launch’s CONTINUE while another backend’s slot still waits for that launch', async () => {
    const w = fakeWorld({ backends: [{ name: 'web' }, { name: 'api' }] });
    await w.seed('api');
    await w.store.claim('api', w.member('i-1', '10.0.0.1', 'api'), { weight: 1, owner: 'asg' });
    const ref = w.ref('i-1');
    const now = w.clock.now();
    await w.store.apply('api', { member: 'i-1' }, { kind: 'launch-pending', now, lifecycle: ref, deadline: now + 1 });
    await w.store.owe({ ref, result: 'CONTINUE', after: 'last-launch', backend: 'web' });
    expect(await settle(ref.token, w.config, w.deps)).toBe('later');
    await w.store.apply('api', { member: 'i-1' }, { kind: 'launch-ready' });
    expect(await settle(ref.token, w.config, w.deps)).toBe('CONTINUE');
  });

  it('holds back a launch’s CONTINUE while the backend that first owed it waits for the launch again', async () => {
    // api was served first and owed the CONTINUE (waiting for web); then a redelivery handed api over again (an
    // operator's hold took it out of traffic). web's launch-ready must not complete it past api.
    const w = fakeWorld({ backends: [{ name: 'web' }, { name: 'api' }] });
    const { ref, pending } = await pendingInBoth(w, 60_000);
    const api = await w.store.apply('api', { member: 'i-1' }, { kind: 'launch-ready' });
    expect(await completionsOf(w, api)).toEqual([{ token: ref.token, completion: 'later' }]);
    await w.store.apply('api', { member: 'i-1' }, { kind: 'hold', admin: 'drain' });
    await w.store.apply('api', { member: 'i-1' }, pending);
    const web = await w.store.apply('web', { member: 'i-1' }, { kind: 'launch-ready' });
    expect(await completionsOf(w, web)).toEqual([{ token: ref.token, completion: 'later' }]);
    expect(w.lifecycle.completions).toEqual([]);
  });

  it('completes a launch with CONTINUE when an operator held a backend’s slot only after the launch served it', async () => {
    // api was served first and owed the CONTINUE (waiting for web); then an operator drained api. The hold is the
    // operator's decision about traffic, not the launch's failure: waiting would only end in ABANDON at the launch
    // deadline, and Auto Scaling would terminate a healthy instance (ARCHITECTURE.md, "A launch completes only when
    // served").
    const w = fakeWorld({ backends: [{ name: 'web' }, { name: 'api' }] });
    const { ref } = await pendingInBoth(w, 60_000);
    const api = await w.store.apply('api', { member: 'i-1' }, { kind: 'launch-ready' });
    expect(await completionsOf(w, api)).toEqual([{ token: ref.token, completion: 'later' }]);
    await w.store.apply('api', { member: 'i-1' }, { kind: 'hold', admin: 'drain' });
    const web = await w.store.apply('web', { member: 'i-1' }, { kind: 'launch-ready' });
    expect(await completionsOf(w, web)).toEqual([{ token: ref.token, completion: 'CONTINUE' }]);
    expect(w.lifecycle.completions.map((c) => c.result)).toEqual(['CONTINUE']);
  });

  it('holds back a launch’s ABANDON at the end of one backend’s drain while another backend still has the member', async () => {
    const w = fakeWorld({ backends: [{ name: 'web' }, { name: 'api' }] });
    const { ref, now } = await pendingInBoth(w, 1);
    for (const b of ['web', 'api'])
      await w.store.apply(b, { member: 'i-1' }, { kind: 'terminate', now, deadline: now + 60_000 });
    // web's drain is over first; api still drains (its hosts may still send the instance traffic).
    const web = await w.store.apply('web', { member: 'i-1' }, { kind: 'drain-finished' });
    expect(await completionsOf(w, web)).toEqual([{ token: ref.token, completion: 'later' }]);
    expect(w.lifecycle.completions).toEqual([]);
    const api = await w.store.apply('api', { member: 'i-1' }, { kind: 'drain-finished' });
    expect(await completionsOf(w, api)).toEqual([{ token: ref.token, completion: 'ABANDON' }]);
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['ABANDON']);
  });

  it('does not swallow a store failure: AWS is not told, and the caller fails so the event comes again', async () => {
    const w = fakeWorld();
    const ref = w.ref('i-1');
    // Owing and leasing is one write: when it fails nothing is owed, and only a redelivery completes the action.
    w.store.failNext('oweAndLease', new StoreUnavailableError('throttled'));
    await expect(continueOnce(ref, w.config, w.deps)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(w.lifecycle.resultsOf(ref.token)).toEqual([]);
    expect(await continueOnce(ref, w.config, w.deps)).toBe('CONTINUE');
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['CONTINUE']);
  });

  it('leaves an owed completion owed for reconcile when its lease fails', async () => {
    const w = fakeWorld();
    const ref = w.ref('i-1');
    await w.store.owe({ ref, result: 'CONTINUE', backend: '' });
    w.store.failNext('leaseCompletion', new StoreUnavailableError('throttled'));
    await expect(settle(ref.token, w.config, w.deps)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await owedTokens(w)).toEqual([ref.token]);
  });
});

describe('runEffects', () => {
  it('retires a member in every backend, for as long as a lifecycle action can live', async () => {
    const w = fakeWorld({ backends: [{ name: 'web' }, { name: 'api' }] });
    const report = await runEffects([{ kind: 'retire', member: 'i-1' }], w.config, w.deps);
    expect(report).toEqual({ completions: [], heartbeats: 0 });
    expect(await w.store.isRetired('web', 'i-1')).toBe(true);
    expect(await w.store.isRetired('api', 'i-1')).toBe(true);
    w.clock.advance(48 * 3600 * 1000);
    expect(await w.store.isRetired('web', 'i-1')).toBe(false);
  });

  it('counts the heartbeats sent and logs one that failed without throwing', async () => {
    const w = fakeWorld();
    const a = w.ref('i-1');
    const b = w.ref('i-2');
    w.lifecycle.failNext('heartbeat', new Error('Rate exceeded'));
    const report = await runEffects(
      [
        { kind: 'heartbeat', ref: a },
        { kind: 'heartbeat', ref: b },
      ],
      w.config,
      w.deps,
    );
    expect(report.heartbeats).toBe(1);
    expect(w.lifecycle.heartbeats.map((h) => h.ref.instanceId)).toEqual(['i-2']);
    expect(w.log.messages('warn')).toEqual(['heartbeat failed']);
  });

  it('settles the completion a write owed, and only that', async () => {
    const w = fakeWorld();
    const ref = w.ref('i-1');
    await w.store.owe({ ref, result: 'ABANDON', backend: 'web' });
    const report = await runEffects([{ kind: 'complete', ref, result: 'ABANDON' }], w.config, w.deps);
    expect(report.completions).toEqual([{ token: ref.token, completion: 'ABANDON' }]);
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['ABANDON']);
  });
});
