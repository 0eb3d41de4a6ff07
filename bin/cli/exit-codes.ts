// Operator CLI: exit codes, a public contract.

/** 0 ok, 1 drift or failure, 2 usage (bad arguments, environment or config). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
