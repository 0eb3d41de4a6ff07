// render-config for a backend that grew: dynamic slots a member holds become server lines with their options.
import { describe, expect, it } from 'vitest';
import { renderServerLines } from '../../../bin/cli/render-config.js';
import { validServerOptions } from '../../../functions/lib/domain/server-options.js';
import type { SlotRecord } from '../../../functions/lib/domain/types.js';

const backend = { name: 'web', weight: 1, dynamicServerOptions: validServerOptions({ check: true, inter: 2000 }) };
const at = { member: 'i-0a', address: '10.0.0.5', port: 8080, weight: 3 };
const slots: SlotRecord[] = [
  { backend: 'web', slot: 'web1', state: 'active', version: 2, ...at },
  { backend: 'web', slot: 'web2', state: 'free', version: 1 },
  { backend: 'web', slot: 'web3', state: 'active', version: 2, dynamic: true, ...at, address: '10.0.0.6' },
  { backend: 'web', slot: 'web4', state: 'free', version: 3, dynamic: true },
  {
    backend: 'web',
    slot: 'web5',
    state: 'draining',
    version: 4,
    dynamic: true,
    ...at,
    address: '10.0.0.7',
    drainDeadline: 1,
    drainStartedAt: 0,
  },
];

describe('render-config with dynamic slots', () => {
  it('writes held dynamic slots with their options, and no line for one nobody holds', () => {
    const text = renderServerLines(backend, slots, { check: true, table: 't', now: new Date(0) });
    expect(text.split('\n').slice(2, -1)).toEqual([
      'server web1 10.0.0.5:8080 weight 3 check',
      'server web2 localhost:9 check disabled init-addr last,libc,none',
      'server web3 10.0.0.6:8080 weight 3 check inter 2000ms',
      'server web5 10.0.0.7:8080 weight 3 check inter 2000ms disabled  # draining i-0a',
    ]);
  });
});
