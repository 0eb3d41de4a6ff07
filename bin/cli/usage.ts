// Operator CLI: the usage text and the one error that means "the command line itself is wrong" (exit 2).
import { SlotSyncError } from '../../functions/lib/errors.js';

/** The command line cannot be understood; the message is one sentence an operator can act on. */
export class UsageError extends SlotSyncError {
  readonly code = 'USAGE' as const;
}

/** Exit codes: 0 ok, 1 drift or failure, 2 usage (bad arguments, environment or config). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** What `slot-sync --help` prints. */
export const USAGE = `Usage: slot-sync <command> [options]

Commands:
  status [--backend B] [--json]             per slot: member, address, table state; per host status/scur/check; drift marked
  drain <backend>/<slot> | <instance-id>    hold the slot (table) and set it to drain on every host
  disable <backend>/<slot> | <instance-id>  hold the slot (table) and set it to maint on every host
  enable <backend>/<slot> | <instance-id>   give a held slot back (table) and converge it on every host
  reconcile [--dry-run] [--backend B]       print the plan (commands per host, drift); apply it unless --dry-run
  render-config --backend B [--no-check]    'server' lines matching the table, for hosts that keep haproxy.cfg in step

Options:
  --backend, -b B   only this backend (for an <instance-id>: only its slot in B)
  --json            machine-readable output with the same facts (status, drain, disable, enable, reconcile)
  --dry-run         reconcile: change nothing, on the hosts or in the table
  --no-check        render-config: omit 'check' (for backends without health checks)
  --config FILE     the config document as a JSON file
  --socket PATH     talk to this one local HAProxy unix socket instead of the config's hosts
  --help, -h        this text

Environment (same contract as the Lambdas):
  SLOT_TABLE        the DynamoDB slot table (required)
  CONFIG_JSON       the config document inline, or
  CONFIG_PARAMETER  the SSM parameter holding it
  AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SSM, ...   the SDK's own variables (local stand-ins)
  Config precedence: --config FILE, then CONFIG_JSON, then CONFIG_PARAMETER.

Exit codes: 0 ok, 1 drift or a failure (a host unreachable or refusing), 2 usage.
`;
