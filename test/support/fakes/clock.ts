// Test fake of the Clock port: time moves only when a test (or a service's sleep) moves it, so waits cost no real time.
import type { Clock } from '../../../functions/lib/ports.js';

/** A clock that starts at `start` and advances on `sleep` and `advance`; every sleep is recorded. */
export class FakeClock implements Clock {
  private current: number;
  /** Every `sleep(ms)` a service asked for, in order. */
  readonly sleeps: number[] = [];

  constructor(start = Date.UTC(2030, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  /** Advances the time by `ms` and yields once, so concurrent callers get to run between two looks. */
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.advance(ms);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`cannot advance a clock by ${ms} ms`);
    this.current += Math.ceil(ms);
  }
}
