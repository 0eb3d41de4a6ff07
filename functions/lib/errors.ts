// Domain errors: every failure that crosses a layer is one of these, with a literal `code` that one place maps to outcomes.

/** Base class: a stable machine-readable `code`, a human message, and the underlying `cause`. */
export abstract class SlotSyncError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A value offered to a command builder is not a valid name / address / port / weight (DESIGN invariant 3). */
export class InvalidArgumentError extends SlotSyncError {
  readonly code = 'INVALID_ARGUMENT' as const;
  constructor(
    readonly field: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`invalid ${field} ${JSON.stringify(String(value)).slice(0, 80)}: ${reason}`);
  }
}

/** The host refused or could not be reached before the connect timeout. */
export class HostUnreachableError extends SlotSyncError {
  readonly code = 'HOST_UNREACHABLE' as const;
  constructor(
    readonly host: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${host}: ${message}`, options);
  }
}

/** The host accepted the connection but did not answer every command before the deadline. */
export class HostTimeoutError extends SlotSyncError {
  readonly code = 'HOST_TIMEOUT' as const;
  constructor(
    readonly host: string,
    message: string,
  ) {
    super(`${host}: ${message}`);
  }
}

/** The byte stream did not frame as expected (closed early, wrong number of prompts). */
export class ProtocolError extends SlotSyncError {
  readonly code = 'PROTOCOL_ERROR' as const;
  constructor(
    readonly host: string,
    message: string,
  ) {
    super(`${host}: ${message}`);
  }
}

/** HAProxy answered a command with an error text. Names host and command so a fleet report is actionable. */
export class CommandFailedError extends SlotSyncError {
  readonly code = 'COMMAND_FAILED' as const;
  constructor(
    readonly host: string,
    readonly command: string,
    readonly reply: string,
  ) {
    super(`${host}: '${command}' failed: ${reply.trim()}`);
  }
}

/** A reply could not be parsed (unknown `show servers state` version, CSV without the expected header...). */
export class ParseError extends SlotSyncError {
  readonly code = 'PARSE_ERROR' as const;
}

/** Every slot of the backend is taken. */
export class NoFreeSlotError extends SlotSyncError {
  readonly code = 'NO_FREE_SLOT' as const;
  /** `detail` says why growth did not help (it is off, or maxSlots is reached). */
  constructor(
    readonly backend: string,
    readonly detail?: string,
  ) {
    super(`no free slot in backend ${backend}${detail ? `: ${detail}` : ''}`);
  }
}

/** A conditional write lost (slot changed under us, member not the owner any more). */
export class SlotConflictError extends SlotSyncError {
  readonly code = 'SLOT_CONFLICT' as const;
}

/** The member or slot named does not exist in the table. */
export class NotFoundError extends SlotSyncError {
  readonly code = 'NOT_FOUND' as const;
}

/** The store itself failed (throttled past retries, unreachable). Retryable by the caller's trigger. */
export class StoreUnavailableError extends SlotSyncError {
  readonly code = 'STORE_UNAVAILABLE' as const;
}

/** The configuration document or environment is invalid; nothing can run. */
export class ConfigError extends SlotSyncError {
  readonly code = 'CONFIG_ERROR' as const;
}

/** `CompleteLifecycleAction` said "No active Lifecycle Action": final, never retried. */
export class LifecycleActionGoneError extends SlotSyncError {
  readonly code = 'LIFECYCLE_ACTION_GONE' as const;
}

/** The webhook signature is missing, malformed, expired or wrong. */
export class SignatureError extends SlotSyncError {
  readonly code = 'BAD_SIGNATURE' as const;
}

/** Input failed schema validation; `issues` are zod's, for a 400 body. */
export class ValidationError extends SlotSyncError {
  readonly code = 'VALIDATION_FAILED' as const;
  constructor(
    message: string,
    readonly issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
  ) {
    super(message);
  }
}

/** Not enough hosts applied a change to satisfy the configured quorum. */
export class QuorumNotMetError extends SlotSyncError {
  readonly code = 'QUORUM_NOT_MET' as const;
}

export type ErrorCode = InstanceType<
  | typeof InvalidArgumentError
  | typeof HostUnreachableError
  | typeof HostTimeoutError
  | typeof ProtocolError
  | typeof CommandFailedError
  | typeof ParseError
  | typeof NoFreeSlotError
  | typeof SlotConflictError
  | typeof NotFoundError
  | typeof StoreUnavailableError
  | typeof ConfigError
  | typeof LifecycleActionGoneError
  | typeof SignatureError
  | typeof ValidationError
  | typeof QuorumNotMetError
  | typeof PayloadTooLargeError
  | typeof MemberRetiredError
  | typeof LaunchSettledError
  | typeof MemberLeavingError
  | typeof StalePlanError
  | typeof RequestRefusedError
  | typeof NothingAppliedError
  | typeof ReplyTooLargeError
  | typeof UnsupportedVersionError
  | typeof AddressRefusedError
>['code'];

/** Why a webhook signature was refused. Safe to return in a 401: none of it depends on the secret. */
export const SIGNATURE_FAILURES = ['missing', 'malformed', 'expired', 'future', 'mismatch'] as const;
export type SignatureFailure = (typeof SIGNATURE_FAILURES)[number];

/** A SignatureError that names the check that failed (same `code`, so one mapping to 401 covers both). */
export class SignatureRejectedError extends SignatureError {
  constructor(
    readonly reason: SignatureFailure,
    message: string,
  ) {
    super(`signature ${reason}: ${message}`);
  }
}

/** A request body is larger than the edge accepts (webhook: 256 KiB); maps to 413. */
export class PayloadTooLargeError extends SlotSyncError {
  readonly code = 'PAYLOAD_TOO_LARGE' as const;
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`body of ${size} bytes is larger than the ${limit}-byte limit`);
  }
}

/** The member left for good (a terminate was seen for it): it must not be given a slot again, e.g. by a late launch. */
export class MemberRetiredError extends SlotSyncError {
  readonly code = 'MEMBER_RETIRED' as const;
  constructor(
    readonly backend: string,
    readonly member: string,
  ) {
    super(`member ${member} was retired from backend ${backend} (terminated); it gets no slot`);
  }
}

/**
 * A launch's claim for a lifecycle token whose completion is already owed or done: the launch was decided (CONTINUE or
 * ABANDON, sent or owed), so a redelivery of its event must not claim a slot again — the instance may be in
 * the warm pool or gone by now (docs/ARCHITECTURE.md, "The launch path"). The launch answers `duplicate`.
 */
export class LaunchSettledError extends SlotSyncError {
  readonly code = 'LAUNCH_SETTLED' as const;
  constructor(
    readonly backend: string,
    readonly member: string,
  ) {
    super(`the launch of ${member} is already settled (its completion is owed or done); no slot claimed in ${backend}`);
  }
}

/**
 * The member is draining out of the backend (terminated, abandoned or deregistered): `ready`, holds, weights and
 * re-registration are refused until its slot is free (terminate always wins). Maps to 409.
 */
// Why a member drains out, as the refusal says it (keys: the domain's drain reasons).
const LEAVING_WORDS: Readonly<Record<string, string>> = {
  deregister: 'was deregistered',
  abandon: 'had its launch abandoned',
  'warm-pool': 'is going back to the warm pool',
  terminate: 'is being terminated',
  'spot-interruption': 'received a Spot interruption warning',
  rebalance: 'received a rebalance recommendation',
  'instance-stopping': 'is stopping',
  'instance-terminating': 'is shutting down',
};

export class MemberLeavingError extends SlotSyncError {
  readonly code = 'MEMBER_LEAVING' as const;
  constructor(
    readonly backend: string,
    readonly member: string,
    readonly reason: string,
    readonly deadline?: number,
  ) {
    const until = deadline === undefined ? '' : ` (drain deadline ${new Date(deadline).toISOString()})`;
    const why = LEAVING_WORDS[reason] ?? 'is being terminated';
    super(
      `member ${member} ${why} and is draining out of backend ${backend}${until}; its slot frees when the drain ends`,
    );
  }
}

/**
 * A batch was planned from a table read older than the plan's time to live and was not written: a stale `ready` or
 * `addr` must never land after a terminate's drain fence (docs/ARCHITECTURE.md, "Fencing"). The caller plans again.
 */
export class StalePlanError extends SlotSyncError {
  readonly code = 'STALE_PLAN' as const;
  constructor(
    readonly host: string,
    readonly lateByMs: number,
  ) {
    super(`${host}: plan expired ${lateByMs}ms before it could be written; not sent`);
  }
}

/**
 * A webhook request with at least one change the lifecycle machine refuses (e.g. `ready` for a member being
 * terminated): the whole request is refused before anything is written. `refusals` name each change. Maps to 409.
 */
export class RequestRefusedError extends SlotSyncError {
  readonly code = 'REQUEST_REFUSED' as const;
  constructor(
    readonly refusals: readonly { readonly index: number; readonly code: string; readonly message: string }[],
  ) {
    super(
      `refused: ${refusals.map((r) => `change ${r.index}: ${r.message}`).join('; ')}; nothing was changed`.slice(
        0,
        2000,
      ),
    );
  }
}

/**
 * A webhook request of which not a single change reached any host (every host down, or the budget gone before the
 * first change): the table is as before. Thrown so the idempotency record is dropped and a retry can run; the
 * per-change `results` go into the 502 body.
 */
export class NothingAppliedError extends SlotSyncError {
  readonly code = 'NOTHING_APPLIED' as const;
  constructor(readonly results: readonly unknown[]) {
    super('no change was applied on any host; nothing was changed');
  }
}

/** A host's reply outgrew the transport's per-reply byte cap (a hostile or broken peer): the connection is dropped. */
export class ReplyTooLargeError extends SlotSyncError {
  readonly code = 'REPLY_TOO_LARGE' as const;
  constructor(
    readonly host: string,
    readonly limit: number,
    answered: string,
  ) {
    super(`${host}: a reply grew past the ${limit}-byte cap after ${answered}; connection dropped`);
  }
}

/** The host runs an HAProxy older than the oldest version this project is tested on (2.6). */
export class UnsupportedVersionError extends SlotSyncError {
  readonly code = 'UNSUPPORTED_VERSION' as const;
  constructor(
    readonly host: string,
    readonly version: string,
    readonly minimum: string,
  ) {
    super(`${host}: HAProxy ${version} is older than ${minimum}, the oldest version slot-sync supports`);
  }
}

/** The rules of the address policy (functions/lib/domain/address-policy.ts); each refusal names one. */
export const ADDRESS_RULES = [
  'not-an-address',
  'unspecified',
  'this-network',
  'loopback',
  'link-local',
  'metadata',
  'multicast',
  'broadcast',
  'reserved',
  'ipv4-compatible',
  'not-allowed',
] as const;
export type AddressRule = (typeof ADDRESS_RULES)[number];

/** One address the policy refused: where it was in the request, the rule, and one sentence saying why. */
export interface AddressRefusal {
  /** The change (batch) or member (desired set) it came with; absent for an address from EC2. */
  readonly index?: number;
  readonly path: readonly (string | number)[];
  readonly backend: string;
  readonly member: string;
  readonly address: string;
  readonly rule: AddressRule;
  readonly message: string;
}

/**
 * Addresses a backend's address policy refuses (loopback, link-local, metadata, ...): nothing was claimed or sent.
 * Maps to 400; an event carrying one is acknowledged (it never gets better). One refusal per address.
 */
export class AddressRefusedError extends SlotSyncError {
  readonly code = 'ADDRESS_REFUSED' as const;
  constructor(readonly refusals: readonly AddressRefusal[]) {
    super(`${refusals.map((r) => r.message).join('; ')}; nothing was changed`.slice(0, 2000));
  }
}
