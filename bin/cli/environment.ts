// Operator CLI: the environment checked before anything runs, so a missing variable reads as what to set, not schema text.
import { SlotSyncError } from '../../functions/lib/errors.js';

/** A variable the CLI needs is missing; the message names it and where its value comes from. */
export class EnvironmentError extends SlotSyncError {
  readonly code = 'ENVIRONMENT' as const;
}

const blank = (value: string | undefined) => value === undefined || value.trim() === '';

/**
 * Throws EnvironmentError for what the config schema would reject with a bare path: no SLOT_TABLE, or no config
 * document at all (`--config FILE`, CONFIG_JSON or CONFIG_PARAMETER). Everything else is left to the schema.
 */
export function checkEnvironment(env: Readonly<Record<string, string | undefined>>, configFile?: string): void {
  if (blank(env.SLOT_TABLE)) {
    throw new EnvironmentError(
      "SLOT_TABLE is not set: export the slot table's name (deployed: <service>-<stage>-slots, e.g. haproxy-slot-sync-prod-slots, the SLOT_TABLE of every function; local stack: source .local/env)",
    );
  }
  if (configFile === undefined && blank(env.CONFIG_JSON) && blank(env.CONFIG_PARAMETER)) {
    throw new EnvironmentError(
      "no config document: export CONFIG_PARAMETER with its SSM parameter name (the stage's configParameter, e.g. /haproxy-slot-sync/prod/config), or CONFIG_JSON, or pass --config FILE",
    );
  }
}

/** Where the config document is read from, as a sentence names it. */
export function configSource(env: Readonly<Record<string, string | undefined>>, configFile?: string): string {
  if (configFile !== undefined) return `--config ${configFile}`;
  if (!blank(env.CONFIG_JSON)) return 'CONFIG_JSON';
  return `the SSM parameter ${env.CONFIG_PARAMETER ?? ''} (CONFIG_PARAMETER)`;
}
