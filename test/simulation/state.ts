// Simulation: what one sequence has done so far — tokens, deliveries, completions, when instances stopped serving —
// and every violation found; the checks read and write it.
import { INSTANCES } from './world.js';

export type TokenKind = 'launch' | 'terminate';

/** One sequence's bookkeeping. */
export interface SeqState {
  readonly tokens: Map<string, { readonly kind: TokenKind; readonly instance: string }>;
  readonly tokenOf: Map<string, string>;
  /** Tokens delivered at least once; and those whose last delivery died (they are delivered again at the end). */
  readonly delivered: Set<string>;
  readonly undelivered: Set<string>;
  readonly completions: Map<string, string[]>;
  /** Per instance: from when no new request may reach it (its terminate returned, or its action completed). */
  readonly stoppedAt: Map<string, number>;
  /**
   * Per instance: the start times of its launch deliveries still under way, and when the last other operation that
   * concerns it started (a webhook change, a CLI hold, a notice, a terminate). An operation that starts while a launch
   * is under way may take the slot out of traffic between the launch's last look and its CONTINUE: no implementation
   * can order a completion after a concurrent operator's hold, so the launch's CONTINUE is judged only when no such
   * operation overlapped it.
   */
  readonly launching: Map<string, number[]>;
  readonly touchedAt: Map<string, number>;
  /**
   * Per instance: when its first launch delivery started. A launch an invocation hands over is still under way after
   * that delivery returns (reconcile completes it), and a hold that lands on a slot it already served does not take the
   * launch back (ARCHITECTURE.md, "A launch completes only when served"): see touchedSinceLaunch.
   */
  readonly launchBegan: Map<string, number>;
  readonly violations: string[];
  readonly downHosts: Set<number>;
  /** Hosts whose relay cuts every batch (see InspectingRelay.dropWrites), and when each such spell began and ended. */
  readonly flaps: { readonly h: number; readonly start: number; readonly untilStep: number; end?: number }[];
  /** What happened, in order, for the messages of violations. */
  readonly history: string[];
  steps: number;
  checks: number;
}

/** A new sequence: a launch and a terminate token per instance, nothing delivered yet. */
export function newState(): SeqState {
  const tokens = new Map<string, { kind: TokenKind; instance: string }>();
  const tokenOf = new Map<string, string>();
  for (const instance of INSTANCES) {
    for (const kind of ['launch', 'terminate'] as const) {
      const token = crypto.randomUUID();
      tokens.set(token, { kind, instance });
      tokenOf.set(`${kind} ${instance}`, token);
    }
  }
  return {
    tokens,
    tokenOf,
    delivered: new Set(),
    undelivered: new Set(),
    completions: new Map(),
    stoppedAt: new Map(),
    launching: new Map(),
    touchedAt: new Map(),
    launchBegan: new Map(),
    violations: [],
    downHosts: new Set(),
    flaps: [],
    history: [],
    steps: 0,
    checks: 0,
  };
}

/** Records one check; a failed one adds its violation. */
export function check(state: SeqState, ok: boolean, violation: () => string): void {
  state.checks++;
  if (!ok) state.violations.push(violation());
}

/** Notes one event (time-stamped) for the story a violation tells. */
export function note(state: SeqState, text: string): void {
  state.history.push(`${Date.now()} ${text}`);
}

/** Notes that an operation concerning `id` starts now (see SeqState.touchedAt). */
export function touch(state: SeqState, id: string): void {
  state.touchedAt.set(id, Date.now());
}

/** Whether an operation concerning `id` started while one of its launches was under way. */
export function overlapped(state: SeqState, id: string): boolean {
  const starts = state.launching.get(id) ?? [];
  const touched = state.touchedAt.get(id);
  return starts.length > 0 && touched !== undefined && touched >= Math.min(...starts);
}

/**
 * Whether an operation concerning `id` (an operator's hold among them) started after its launch began: a slot the
 * launch served and an operator then held counts as served for that launch's CONTINUE, even when reconcile completes it
 * later. The machine keeps a launch that has not served a held slot yet waiting instead (`launch-ready` on a held slot
 * changes nothing, test/unit/domain/lifecycle.test.ts), so no CONTINUE reaches this check for that case.
 */
export function touchedSinceLaunch(state: SeqState, id: string): boolean {
  const began = state.launchBegan.get(id);
  const touched = state.touchedAt.get(id);
  return began !== undefined && touched !== undefined && touched >= began;
}

/**
 * Whether a host cut batches at any time since `since`. An operation that returns then may not have reached that host,
 * which goes on serving what it served: no implementation can drain a host that takes no command. Its instance is held
 * to "no request after" only from its lifecycle completion on (which waits for that host), not from its return.
 */
export function flapSince(state: SeqState, since: number): boolean {
  return state.flaps.some((f) => (f.end ?? Number.POSITIVE_INFINITY) >= since);
}
