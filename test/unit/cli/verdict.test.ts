// The monitoring verdict: Nagios plugin states from a status report, the worst one winning.
import { describe, expect, it } from 'vitest';
import type { StatusReport } from '../../../bin/cli/status-model.js';
import { verdictOf } from '../../../bin/cli/verdict.js';

type Input = Omit<StatusReport, 'verdict'>;

const base: Input = {
  at: 0,
  table: { name: 't', ok: true },
  summary: {
    hosts: 2,
    slots: 4,
    active: 1,
    free: 3,
    draining: 0,
    held: 0,
    drift: 0,
    awaitingHealth: 0,
    overdueDrains: 0,
    failed: 0,
  },
  hosts: [
    { host: 'a', endpoint: '', ok: true },
    { host: 'b', endpoint: '', ok: true },
  ],
  rows: [],
  drift: [],
  awaitingHealth: [],
  overdueDrains: [],
  noFreeSlot: [],
};
const down = { host: 'b', endpoint: '', ok: false, error: { code: 'HOST_TIMEOUT', message: 'b: timeout' } };
const tableDown = (cause: 'unreachable' | 'configuration') => ({
  name: 't',
  ok: false as const,
  cause,
  error: { code: cause === 'unreachable' ? 'DYNAMODB_UNREACHABLE' : 'AWS_CREDENTIALS', message: '…' },
});
const summary = (extra: Partial<Input['summary']>) => ({ ...base.summary, ...extra });

describe('verdictOf', () => {
  it.each<[string, Partial<Input>, string, number, string[]]>([
    ['everything in step', {}, 'OK', 0, []],
    ['drift', { summary: summary({ drift: 2 }) }, 'WARNING', 1, ['2 drift']],
    [
      'a slot waiting for its check',
      { summary: summary({ awaitingHealth: 1 }) },
      'WARNING',
      1,
      ['1 slot waiting for a health check'],
    ],
    [
      'two drains past their deadline',
      { summary: summary({ overdueDrains: 2 }) },
      'WARNING',
      1,
      ['2 drains past the deadline'],
    ],
    [
      'a host that does not answer',
      { hosts: [base.hosts[0] as Input['hosts'][number], down] },
      'CRITICAL',
      2,
      ['b HOST_TIMEOUT'],
    ],
    ['the table unreachable', { table: tableDown('unreachable') }, 'CRITICAL', 2, ['table DYNAMODB_UNREACHABLE']],
    ['no free slot', { noFreeSlot: ['web'] }, 'CRITICAL', 2, ['no free slot in web']],
    ['no credentials for the table', { table: tableDown('configuration') }, 'UNKNOWN', 3, ['table AWS_CREDENTIALS']],
    [
      'drift and a dead host: CRITICAL wins, both listed',
      { summary: summary({ drift: 1 }), hosts: [base.hosts[0] as Input['hosts'][number], down] },
      'CRITICAL',
      2,
      ['b HOST_TIMEOUT', '1 drift'],
    ],
    [
      'drift with unusable credentials: WARNING outranks UNKNOWN',
      { summary: summary({ drift: 1 }), table: tableDown('configuration') },
      'WARNING',
      1,
      ['table AWS_CREDENTIALS', '1 drift'],
    ],
  ])('%s → %s (%i)', (_, change, state, code, reasons) => {
    const v = verdictOf({ ...base, ...change });
    expect(v.state).toBe(state);
    expect(v.code).toBe(code);
    expect(v.reasons.map((r) => r.text)).toEqual(reasons);
  });
});
