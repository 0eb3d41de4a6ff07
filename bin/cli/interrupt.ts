// Operator CLI: Ctrl-C (SIGINT) and SIGTERM during a wait become an AbortSignal, so the wait ends cleanly, undoing nothing.
import { setTimeout as delay } from 'node:timers/promises';

/** The signal that ended a wait, if any; `dispose` removes the handlers (the default behaviour comes back). */
export interface Interrupt {
  readonly signal: AbortSignal;
  readonly received: () => NodeJS.Signals | undefined;
  dispose(): void;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** Listens for SIGINT and SIGTERM until disposed; the first one aborts the signal. */
export function listenForInterrupt(): Interrupt {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const handler = (signal: NodeJS.Signals) => {
    received ??= signal;
    controller.abort();
  };
  for (const s of SIGNALS) process.on(s, handler);
  return {
    signal: controller.signal,
    received: () => received,
    dispose: () => {
      for (const s of SIGNALS) process.off(s, handler);
    },
  };
}

/** Sleeps `ms`, or less when `signal` aborts; resolves false when aborted (never rejects). */
export async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  try {
    await delay(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
