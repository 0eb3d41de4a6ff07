// The handlers' work deadline (functions/shared/deadline.ts): the reply's reserve grows with the command timeout.
import { describe, expect, it } from 'vitest';
import { replyReserveMs, workUntil } from '../../functions/shared/deadline.js';

describe('workUntil', () => {
  it('keeps 3 s back with short commands, and two command timeouts and a second with long ones', () => {
    expect(replyReserveMs({ commandMs: 1_000 })).toBe(3_000);
    expect(replyReserveMs({ commandMs: 5_000 })).toBe(11_000);
    expect(replyReserveMs({ commandMs: 60_000 })).toBe(121_000);
    expect(workUntil(10_000, { commandMs: 1_000 }, 1_000)).toBe(8_000);
    expect(workUntil(900_000, { commandMs: 5_000 }, 0)).toBe(889_000);
  });

  it('starts nothing when the reserve is more than the time left', () => {
    expect(workUntil(10_000, { commandMs: 5_000 }, 1_000)).toBe(1_000);
  });
});
