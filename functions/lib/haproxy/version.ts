// HAProxy versions as `show info` reports them: parsed, compared, and the version-dependent features derived from them.
import { ParseError } from '../errors.js';

/** `Version` of `show info`: `2.6.12-1+deb12u4` (Debian), `3.0.11-9e587df` (source build), `3.4-dev5-…`. */
export interface HaproxyVersion {
  readonly raw: string;
  readonly major: number;
  readonly minor: number;
  /** 0 for a development snapshot (`3.4-dev5`). */
  readonly patch: number;
}

/** The oldest HAProxy this project is tested on (Debian 12's 2.6.12); anything older is refused per host. */
export const MINIMUM_VERSION = { major: 2, minor: 6 } as const;

/** Parses the `Version` value of `show info`. Throws ParseError when it does not start with `MAJOR.MINOR`. */
export function parseVersion(raw: string): HaproxyVersion {
  const match = /^(\d+)\.(\d+)(?:\.(\d+))?(?:[-+~ ]|$)/.exec(raw.trim());
  if (!match)
    throw new ParseError(`show info: Version is not MAJOR.MINOR[.PATCH]: ${JSON.stringify(raw.slice(0, 80))}`);
  return { raw: raw.trim(), major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3] ?? 0) };
}

/** True when `version` is `major.minor` or newer. */
export function atLeast(version: HaproxyVersion, major: number, minor: number): boolean {
  return version.major > major || (version.major === major && version.minor >= minor);
}

/** Whether the version is one slot-sync supports (2.6 or newer). */
export function isSupported(version: HaproxyVersion): boolean {
  return atLeast(version, MINIMUM_VERSION.major, MINIMUM_VERSION.minor);
}

/**
 * `init-state` on server lines (3.1+): with `init-state down`, a server taken out of maint stays DOWN, without
 * traffic, until its first check passes. 2.6-3.0 refuse the keyword (`unknown keyword 'init-state'`).
 */
export function hasInitState(version: HaproxyVersion): boolean {
  return atLeast(version, 3, 1);
}

/**
 * Whether `set server … addr` takes effect asynchronously (3.0+): the reply comes at once, but `show servers state`
 * and `show stat` in the same batch can still show the old address, so a read-back must be polled until it matches.
 */
export function hasAsyncAddr(version: HaproxyVersion): boolean {
  return atLeast(version, 3, 0);
}

/**
 * `wait <delay> srv-removable <be>/<srv>` (3.0+): holds the CLI session until the server may be deleted, so `del
 * server` can follow in the same batch. 2.6 and 2.8 have no `wait`: the delete is tried once no session is left.
 */
export function hasWaitRemovable(version: HaproxyVersion): boolean {
  return atLeast(version, 3, 0);
}
