// Operator CLI `--version`: the package.json version, read at run time so it can never drift from the release.
import { readFileSync } from 'node:fs';

/** `slot-sync 0.1.0`. */
export function versionLine(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `slot-sync ${pkg.version}\n`;
}
