// Per-host Runtime API client: sends a batch over the transport and classifies every reply; never throws.
import type { HostConfig } from '../config.js';
import type { Command } from '../domain/commands.js';
import type { CommandReply, HostResult } from '../domain/types.js';
import { CommandFailedError, SlotSyncError } from '../errors.js';
import { classifyReply } from './classify.js';
import { renderCommand } from './commands.js';
import { type Endpoint, sendBatch } from './transport.js';

/** Connect timeout per attempt and the overall deadline of one batch on one host. */
export interface ClientTimeouts {
  readonly connectMs: number;
  readonly commandMs: number;
}

/** When a batch may still be written (a fenced plan), see TransportOptions.notAfter. */
export interface SendOptions {
  readonly notAfter?: number;
}

/** Transport limits that are not timeouts (default: DEFAULT_MAX_REPLY_BYTES per reply). */
export interface ClientLimits {
  readonly maxReplyBytes?: number;
}

/** One HAProxy host: `run` reports per-command outcomes, `exchange` gives the raw replies (and throws typed errors). */
export interface HostClient {
  readonly name: string;
  run(commands: readonly Command[], options?: SendOptions): Promise<HostResult>;
  exchange(commands: readonly Command[], options?: SendOptions): Promise<string[]>;
}

/** The transport endpoint of a configured host: TCP, with TLS when the config carries a client certificate. */
export function endpointOf(host: HostConfig): Endpoint {
  return { kind: 'tcp', host: host.host, port: host.port, tls: host.tls };
}

/** A client for a host of the config document. */
export function createHostClient(host: HostConfig, timeouts: ClientTimeouts, limits?: ClientLimits): HostClient {
  return createEndpointClient(host.name, endpointOf(host), timeouts, limits);
}

/** A client for any endpoint, e.g. the unix CLI socket on the HAProxy host itself. */
export function createEndpointClient(
  name: string,
  endpoint: Endpoint,
  timeouts: ClientTimeouts,
  limits: ClientLimits = {},
): HostClient {
  const base = { connectTimeoutMs: timeouts.connectMs, deadlineMs: timeouts.commandMs, ...limits };
  const exchange = (commands: readonly Command[], options?: SendOptions) =>
    sendBatch(name, endpoint, commands.map(renderCommand), { ...base, notAfter: options?.notAfter });
  return {
    name,
    exchange,
    async run(commands, options) {
      let raw: string[];
      try {
        raw = await exchange(commands, options);
      } catch (error) {
        return { host: name, ok: false, replies: [], error: errorShape(error) };
      }
      return classifyAll(name, commands, raw);
    },
  };
}

/** Pairs raw replies 1:1 with their commands; `error` names the host and the first command that failed. */
export function classifyAll(host: string, commands: readonly Command[], raw: readonly string[]): HostResult {
  const replies: CommandReply[] = commands.map((command, i) => classifyReply(command, raw[i] ?? ''));
  const failed = replies.find((r) => !r.ok);
  if (!failed) return { host, ok: true, replies };
  const error = new CommandFailedError(host, failed.command, failed.reply);
  return { host, ok: false, replies, error: { code: error.code, message: error.message } };
}

/** `{code, message}` of a typed error; anything untyped is reported as a protocol error rather than thrown. */
export function errorShape(error: unknown): { code: string; message: string } {
  if (error instanceof SlotSyncError) return { code: error.code, message: error.message };
  return { code: 'PROTOCOL_ERROR', message: error instanceof Error ? error.message : String(error) };
}
