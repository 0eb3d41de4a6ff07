// Colour only on a terminal; NO_COLOR always wins, FORCE_COLOR turns it on for a pipe.
import { describe, expect, it } from 'vitest';
import { colourFor } from '../../../bin/cli/style.js';

const paints = (isTTY: boolean, env: Record<string, string | undefined>) =>
  colourFor({ isTTY }, env)('ok', 'x') !== 'x';

describe('colourFor', () => {
  it.each([
    [true, {}, true],
    [false, {}, false],
    [true, { NO_COLOR: '1' }, false],
    [true, { NO_COLOR: '' }, true],
    [false, { FORCE_COLOR: '1' }, true],
    [false, { FORCE_COLOR: '0' }, false],
    [true, { NO_COLOR: '1', FORCE_COLOR: '1' }, false],
  ])('terminal %s with %j: colour %s', (isTTY, env, expected) => {
    expect(paints(isTTY, env)).toBe(expected);
  });
});
