// Operator CLI `--wait`: the polling loop shared by drain/disable (sessions) and enable (ready) — rounds until done,
// a change nobody asked for, the deadline, or Ctrl-C.
import type { Clock } from '../../functions/lib/ports.js';
import { pause } from './interrupt.js';
import { duration, type HostProgress, type ProgressView } from './wait-progress.js';

/** One host as the last round saw it: what the result line and `--json` report. */
export interface HostFact {
  readonly host: string;
  readonly reachable: boolean;
  readonly admin?: string;
  readonly status?: string;
  readonly sessions?: number;
  readonly check?: string;
  readonly error?: { readonly code: string; readonly message: string };
}

/** What one round found: the facts, how to show them, and whether the wait is over (`done`, or `changed` = failed). */
export interface Round {
  readonly facts: readonly HostFact[];
  readonly progress: readonly HostProgress[];
  readonly over?: 'done' | 'changed';
}

/** How a wait ended. */
export interface WaitOutcome {
  readonly result: 'done' | 'changed' | 'timeout' | 'interrupted';
  readonly elapsedMs: number;
  readonly facts: readonly HostFact[];
}

export interface LoopOptions {
  readonly deadline: number;
  readonly pollMs: number;
  readonly signal: AbortSignal;
  readonly view: ProgressView;
  readonly clock: Clock;
  /** Said after the countdown while waiting (the terminal's `Ctrl-C leaves it as is`). */
  readonly hint?: string;
}

/** Runs `round` every `pollMs` and shows each one, until it says it is over, the deadline passes, or `signal` aborts. */
export async function pollUntil(round: () => Promise<Round>, options: LoopOptions): Promise<WaitOutcome> {
  const { clock, signal, view } = options;
  const started = clock.now();
  let facts: readonly HostFact[] = [];
  try {
    for (;;) {
      if (signal.aborted) return { result: 'interrupted', elapsedMs: clock.now() - started, facts };
      const r = await round();
      facts = r.facts;
      const left = options.deadline - clock.now();
      const waiting = `gives up in ${duration(left)}${options.hint ? ` · ${options.hint}` : ''}`;
      view.show({ hosts: r.progress, countdown: r.over ? `after ${duration(clock.now() - started)}` : waiting });
      if (r.over) return { result: r.over, elapsedMs: clock.now() - started, facts };
      if (left <= 0) return { result: 'timeout', elapsedMs: clock.now() - started, facts };
      if (!(await pause(Math.min(options.pollMs, left), signal))) {
        return { result: 'interrupted', elapsedMs: clock.now() - started, facts };
      }
    }
  } finally {
    view.done();
  }
}

/** `drain (3 sessions)` / `unreachable`: one host as "left as is" names it. */
export function factText(f: HostFact): string {
  if (!f.reachable) return `${f.host} unreachable`;
  const sessions = f.sessions === undefined ? undefined : `${f.sessions} session${f.sessions === 1 ? '' : 's'}`;
  const parts = [f.status, sessions, f.check || undefined];
  return `${f.host} ${f.admin ?? '?'} (${parts.filter(Boolean).join(', ')})`;
}
