// The real clock; tests inject their own `Clock`.
import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from './ports.js';

/** Wall-clock time and real sleeps. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => delay(ms),
};
