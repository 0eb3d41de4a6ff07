// Slot table keys and the natural order of slot names.
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../functions/lib/errors.js';
import { memberKey, naturalCompare, slotKey } from '../../../functions/lib/slots/keys.js';

describe('keys', () => {
  it('puts slots and members of a backend in one partition under distinct sort key prefixes', () => {
    expect(slotKey('be', 'web1')).toEqual({ pk: 'be', sk: 'slot#web1' });
    expect(memberKey('be', 'i-0abc')).toEqual({ pk: 'be', sk: 'member#i-0abc' });
  });

  it.each(['', 'web 1', 'web1;show', 'a\nb', 'x'.repeat(101)])('rejects the name %j', (name) => {
    expect(() => slotKey('be', name)).toThrow(InvalidArgumentError);
    expect(() => memberKey(name, 'i-1')).toThrow(InvalidArgumentError);
  });
});

describe('naturalCompare', () => {
  it('orders digit runs by value: web2 before web10', () => {
    expect(['web10', 'web2', 'web1', 'api3', 'web100', 'web9'].sort(naturalCompare)).toEqual([
      'api3',
      'web1',
      'web2',
      'web9',
      'web10',
      'web100',
    ]);
  });

  it('is a total order on names that only differ in leading zeros or suffixes', () => {
    expect(['web01', 'web1', 'web1a', 'web'].sort(naturalCompare)).toEqual(['web', 'web1', 'web1a', 'web01']);
    expect(naturalCompare('web1', 'web1')).toBe(0);
  });
});
