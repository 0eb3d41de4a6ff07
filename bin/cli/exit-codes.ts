// Operator CLI: exit codes, a public contract — Nagios plugin codes for `status`, done/failed/usage for actions.

/** Action commands (drain, disable, enable, reconcile, render-config, watch, completion). */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  /** Ctrl-C ended a `--wait` (128 + SIGINT, as shells report it); nothing was undone. */
  interrupted: 130,
  /** SIGTERM ended a `--wait` (128 + 15); nothing was undone either. */
  terminated: 143,
} as const;

/** `status`: the Nagios plugin convention (also what milkcheck-style checks expect), so it runs as a check unchanged. */
export const CHECK = { ok: 0, warning: 1, critical: 2, unknown: 3 } as const;

export type CheckCode = (typeof CHECK)[keyof typeof CHECK];
