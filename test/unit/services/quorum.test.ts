import { describe, expect, it } from 'vitest';
import { quorumMet } from '../../../functions/lib/domain/quorum.js';

describe('quorumMet', () => {
  it.each([
    ['all', 3, 3, true],
    ['all', 2, 3, false],
    ['majority', 2, 3, true],
    ['majority', 1, 2, false],
    ['majority', 2, 4, false],
    ['any', 1, 5, true],
    ['any', 0, 5, false],
    ['all', 0, 0, false],
  ] as const)('quorum %s with %i of %i hosts applied → %s', (quorum, applied, total, expected) => {
    expect(quorumMet(quorum, applied, total)).toBe(expected);
  });
});
