// Whether a backend may grow, and the names its dynamic slots get (pure).
import { describe, expect, it } from 'vitest';
import { algorithmSupport, dynamicSlotNames, growthOf } from '../../../functions/lib/domain/growth.js';

const backend = { name: 'web', slotPrefix: 'web', maxSlots: 12 };
const template = ['web1', 'web2', 'web3', 'web4'];

describe('growth', () => {
  it.each([
    ['roundrobin', 'yes'],
    ['leastconn', 'yes'],
    ['first', 'yes'],
    ['random', 'yes'],
    ['static-rr', 'no'],
    ['source', 'hash'],
    ['uri', 'hash'],
    ['unknown', 'hash'],
  ])('balance %s takes dynamic servers: %s', (algo, support) => {
    expect(algorithmSupport(algo)).toBe(support);
  });

  it('continues the template numbering up to maxSlots', () => {
    expect(dynamicSlotNames('web', template, 12)).toEqual([
      'web5',
      'web6',
      'web7',
      'web8',
      'web9',
      'web10',
      'web11',
      'web12',
    ]);
    expect(dynamicSlotNames('web', ['web1', 'web3'], 4)).toEqual(['web4', 'web5']);
    expect(dynamicSlotNames('web', template, 4)).toEqual([]);
  });

  it('is on for a roundrobin backend with maxSlots above the template', () => {
    const g = growthOf(backend, template, [{ host: 'h1', algo: 'roundrobin' }, { host: 'h2' }]);
    expect(g).toMatchObject({ enabled: true, reason: undefined });
    expect(g.names).toHaveLength(8);
  });

  it('is off, naming the host and the algorithm, when any host balances with static-rr', () => {
    const g = growthOf(backend, template, [
      { host: 'h1', algo: 'roundrobin' },
      { host: 'h2', algo: 'static-rr' },
    ]);
    expect(g).toEqual({
      enabled: false,
      names: [],
      reason:
        'web cannot take servers at run time on h2 (balance static-rr): use roundrobin, leastconn, first or random',
    });
  });

  it('is on for a hashing backend, saying HAProxy decides (hash-type is not visible over the Runtime API)', () => {
    const g = growthOf(backend, template, [{ host: 'h1', algo: 'source' }]);
    expect(g.enabled).toBe(true);
    expect(g.reason).toMatch(/hash-type consistent/);
  });

  it.each([
    ['maxSlots unset', { name: 'web', slotPrefix: 'web' }, /maxSlots is not set/],
    ['maxSlots at the template size', { ...backend, maxSlots: 4 }, /not above the template's 4 slots/],
  ])('is off with %s', (_name, config, reason) => {
    const g = growthOf(config, template, [{ host: 'h1', algo: 'roundrobin' }]);
    expect(g.enabled).toBe(false);
    expect(g.reason).toMatch(reason);
  });

  it('is off when no host answered', () => {
    expect(growthOf(backend, template, [{ host: 'h1' }]).reason).toBe('no host reported the backend');
  });
});
