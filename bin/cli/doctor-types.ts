// Operator CLI `doctor`: what it gathers from each host and the table (facts), and what it reports (checks, verdict).
import type { SlotRecord } from '../../functions/lib/domain/types.js';
import type { ServerStateRow } from '../../functions/lib/haproxy/parse-servers-state.js';
import type { ReportedError, TableSide } from './status-model.js';
import type { CheckState, Verdict } from './verdict.js';

/** One command's answer: HAProxy's text (trimmed) and whether it is the kind of text that command answers with. */
export interface Answer {
  readonly ok: boolean;
  readonly reply: string;
}

/** One backend on one host: present or not, its servers (`show servers state`) and its balance algorithm. */
export interface BackendFacts {
  readonly present: boolean;
  /** HAProxy's answer when the backend is missing or its servers could not be read. */
  readonly reply?: string;
  readonly servers: readonly ServerStateRow[];
  /** `algo` of the backend's `show stat` row; undefined when the host did not report it. */
  readonly algo?: string;
}

/** How many of the probe's concurrent CLI connections HAProxy served (each answered `show cli level`). */
export interface Capacity {
  readonly served: number;
  readonly of: number;
  /** How long the probe waited for the slowest one, in ms. */
  readonly waitedMs: number;
}

/** Everything one host told doctor; `error` when it could not be asked at all (the rest is then absent). */
export interface HostFacts {
  readonly host: string;
  /** `127.0.0.1:9999`, or the unix socket path. */
  readonly endpoint: string;
  readonly error?: ReportedError;
  /** `show info` as key → value, when it answered with one. */
  readonly info?: Readonly<Record<string, string>>;
  readonly level?: Answer;
  readonly startupLogs?: Answer;
  readonly backends: ReadonlyMap<string, BackendFacts>;
  readonly capacity?: Capacity;
}

/** The configured side of one backend, as doctor compares it. */
export interface BackendSide {
  readonly name: string;
  readonly slotPrefix: string;
  readonly maxSlots?: number;
}

/** The table: its slot records per backend when read, or why not. */
export type TableFacts =
  | { readonly side: Extract<TableSide, { ok: true }>; readonly slots: ReadonlyMap<string, readonly SlotRecord[]> }
  | { readonly side: Extract<TableSide, { ok: false }> };

/** Everything doctor judges; `at` is when it was gathered. */
export interface DoctorFacts {
  readonly at: number;
  readonly backends: readonly BackendSide[];
  readonly hosts: readonly HostFacts[];
  readonly table: TableFacts;
}

/** A judged cell. `INFO`: a fact that is not judged (not observable, or not checked because an earlier check failed). */
export type CellState = CheckState | 'INFO';

/** What one check found on one host. */
export interface DoctorCell {
  readonly state: CellState;
  readonly value: string;
  /** Why, and what to do: shown under the table for anything not OK. */
  readonly detail?: string;
}

/** One row: a check on every host. `source` says what it was read from (and whether that is an inference). */
export interface DoctorCheck {
  readonly check: string;
  readonly backend?: string;
  readonly source: string;
  /** The worst of its cells (INFO only when every cell is INFO). */
  readonly state: CellState;
  readonly hosts: Readonly<Record<string, DoctorCell>>;
}

/** Whether a backend may grow past its template, fleet-wide (domain/growth.ts). */
export interface GrowthSummary {
  readonly backend: string;
  readonly enabled: boolean;
  readonly reason?: string;
  readonly names: readonly string[];
}

/** Everything `doctor` reports; `--json` prints exactly this. */
export interface DoctorReport {
  readonly verdict: Verdict;
  readonly at: number;
  readonly table: TableSide;
  readonly hosts: readonly { readonly host: string; readonly endpoint: string }[];
  readonly checks: readonly DoctorCheck[];
  readonly growth: readonly GrowthSummary[];
}
