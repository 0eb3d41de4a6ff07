// together(): the records of one invocation meet before they register, and each still gets its own answer.
import { describe, expect, it } from 'vitest';
import type { BackendConfig } from '../../../functions/lib/config.js';
import type { RegisterInput, RegisterResult } from '../../../functions/lib/services/register.js';
import { together } from '../../../functions/lib/services/register-together.js';

const backend = { name: 'web' } as BackendConfig;
const input = (id: string, name = 'web'): RegisterInput => ({
  backend: { ...backend, name },
  member: { id, address: '10.0.0.1', port: 80 },
  owner: 'asg',
  until: 0,
});
const result = (i: RegisterInput) => ({ member: i.member.id, backend: i.backend.name }) as unknown as RegisterResult;
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A gathering over `records` records whose window ends only when the test says so. */
function gatheringOf(records: number, answer: (i: RegisterInput) => RegisterResult | Error = result) {
  const runs: string[][] = [];
  const windows: (() => void)[] = [];
  const g = together({
    records,
    windowMs: 50,
    wait: () => new Promise<void>((resolve) => windows.push(resolve)),
    run: async (inputs) => {
      runs.push(inputs.map((i) => `${i.backend.name}:${i.member.id}`));
      return inputs.map(answer);
    },
  });
  return { g, runs, windows };
}

describe('together', () => {
  it('sends the registrations of all records as one call once the last record gets there', async () => {
    const { g, runs, windows } = gatheringOf(3);
    const seats = [g.seat(), g.seat(), g.seat()];
    const a = seats[0]?.register(input('a'));
    await tick();
    const b = seats[1]?.register(input('b'));
    await tick();
    expect(runs).toEqual([]);
    const c = seats[2]?.register(input('c'));
    expect(await Promise.all([a, b, c])).toMatchObject([{ member: 'a' }, { member: 'b' }, { member: 'c' }]);
    expect(runs).toEqual([['web:a', 'web:b', 'web:c']]);
    // Went out without waiting for a window to end.
    expect(windows.length).toBeLessThanOrEqual(1);
  });

  it('does not wait for records that finish without registering (a terminate, a duplicate)', async () => {
    const { g, runs } = gatheringOf(3);
    const [a, other, b] = [g.seat(), g.seat(), g.seat()];
    const pa = a.register(input('a'));
    const pb = b.register(input('b'));
    await tick();
    expect(runs).toEqual([]);
    other.done();
    await Promise.all([pa, pb]);
    expect(runs).toEqual([['web:a', 'web:b']]);
  });

  it('goes without a slow record when the window ends; that record goes alone once it registers', async () => {
    const { g, runs, windows } = gatheringOf(3);
    const [a, b, slow] = [g.seat(), g.seat(), g.seat()];
    const pa = a.register(input('a'));
    const pb = b.register(input('b'));
    await tick();
    expect(runs).toEqual([]);
    windows[0]?.();
    await Promise.all([pa, pb]);
    expect(runs).toEqual([['web:a', 'web:b']]);
    a.done();
    b.done();
    await slow.register(input('slow'));
    expect(runs).toEqual([['web:a', 'web:b'], ['web:slow']]);
  });

  it('keeps one record’s registrations in several backends in one gathering', async () => {
    const { g, runs } = gatheringOf(2);
    const [a, b] = [g.seat(), g.seat()];
    const both = Promise.all([a.register(input('a', 'web')), a.register(input('a', 'api'))]);
    await tick();
    expect(runs).toEqual([]);
    await Promise.all([both, b.register(input('b'))]);
    expect(runs).toEqual([['web:a', 'api:a', 'web:b']]);
  });

  it('answers each record with its own result or its own error', async () => {
    const { g } = gatheringOf(2, (i) => (i.member.id === 'bad' ? new Error('no free slot') : result(i)));
    const [a, b] = [g.seat(), g.seat()];
    const good = a.register(input('good'));
    const bad = b.register(input('bad'));
    await expect(good).resolves.toMatchObject({ member: 'good' });
    await expect(bad).rejects.toThrow('no free slot');
  });

  it('fails every registration of a gathering whose call fails, and the next gathering still goes', async () => {
    let calls = 0;
    const g = together({
      records: 2,
      windowMs: 50,
      wait: () => new Promise<void>(() => {}),
      run: async (inputs) => {
        if (++calls === 1) throw new Error('store down');
        return inputs.map(result);
      },
    });
    const [a, b] = [g.seat(), g.seat()];
    const first = [a.register(input('a')), b.register(input('b'))];
    for (const p of first) await expect(p).rejects.toThrow('store down');
    b.done();
    await expect(a.register(input('a'))).resolves.toMatchObject({ member: 'a' });
  });

  it('answers a record as soon as registerMembers says it is done, before the rest of its gathering', async () => {
    let finish: () => void = () => {};
    const g = together({
      records: 2,
      windowMs: 50,
      wait: () => new Promise<void>(() => {}),
      run: (inputs, early) => {
        early(1, result(inputs[1] as RegisterInput));
        return new Promise((resolve) => {
          finish = () => resolve(inputs.map(result));
        });
      },
    });
    const [a, b] = [g.seat(), g.seat()];
    let aDone = false;
    const pa = a.register(input('a')).then((r) => {
      aDone = true;
      return r;
    });
    await expect(b.register(input('b'))).resolves.toMatchObject({ member: 'b' });
    expect(aDone).toBe(false);
    finish();
    await expect(pa).resolves.toMatchObject({ member: 'a' });
  });

  it('ends the window when the wait itself fails, and lets no rejection go unhandled', async () => {
    const runs: string[][] = [];
    let fail: (error: Error) => void = () => {};
    const g = together({
      records: 2,
      windowMs: 50,
      wait: () =>
        new Promise<void>((_resolve, reject) => {
          fail = reject;
        }),
      run: async (inputs) => {
        runs.push(inputs.map((i) => i.member.id));
        return inputs.map(result);
      },
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const [a] = [g.seat(), g.seat()];
      const pa = a.register(input('a'));
      await tick();
      fail(new Error('invocation cut off'));
      await expect(pa).resolves.toMatchObject({ member: 'a' });
      expect(runs).toEqual([['a']]);
      await tick();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
