// HAProxy Runtime API transport: one connection per batch, prompt mode, pipelined write, replies framed on "\n> ".
import { createConnection, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  HostTimeoutError,
  HostUnreachableError,
  ProtocolError,
  ReplyTooLargeError,
  StalePlanError,
} from '../errors.js';

/** Where a host's CLI listens: plain TCP, TCP through a TLS-terminating proxy (client certificate), or a unix socket. */
export type Endpoint =
  | { kind: 'tcp'; host: string; port: number; tls?: { ca: string; cert: string; key: string; servername?: string } }
  | { kind: 'unix'; path: string };

/** Connect timeout per attempt and the overall deadline of one batch, connect and retry included. */
export interface TransportOptions {
  connectTimeoutMs: number;
  deadlineMs: number;
  /**
   * Largest reply accepted, in bytes (default DEFAULT_MAX_REPLY_BYTES): a peer that streams more without a prompt is
   * cut off with ReplyTooLargeError instead of growing the Lambda's memory until it dies.
   */
  maxReplyBytes?: number;
  /** Observability hook: called before each connection attempt (1, then 2 on the single retry). */
  onConnectAttempt?: (attempt: number) => void;
  /** Epoch ms after which the batch must not be written any more (a fenced plan): StalePlanError instead. */
  notAfter?: number;
}

/**
 * Default per-reply cap: 4 MiB. The largest reply sent is `show stat <backend>` at about 0.6 KiB per server row on
 * 3.x (140 columns), so this fits a backend of ~6,000 slots; raise it per host for more.
 */
export const DEFAULT_MAX_REPLY_BYTES = 4 * 1024 * 1024;

const DELIMITER = '\n> ';
const RETRY_PAUSE_MS = 50;

/**
 * Sends the command `lines` (rendered, one command each) over one fresh connection and resolves with one raw reply
 * per line (the text between two prompts: `''` for an empty success). Throws HostUnreachableError, HostTimeoutError,
 * ProtocolError, or StalePlanError when the connection came up after `notAfter`.
 */
export async function sendBatch(
  hostName: string,
  endpoint: Endpoint,
  lines: readonly string[],
  options: TransportOptions,
): Promise<string[]> {
  if (lines.length === 0) return [];
  const deadline = Date.now() + options.deadlineMs;
  const limit = options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
  const start = (socket: Socket) =>
    exchange(hostName, socket, lines, {
      deadline,
      limit,
      tls: endpoint.kind === 'tcp' && !!endpoint.tls,
      notAfter: options.notAfter,
    });
  const { replies } = await connectWithRetry(hostName, endpoint, options, deadline, start);
  return replies;
}

type Start = (socket: Socket) => Promise<string[]>;

async function connectWithRetry(
  host: string,
  endpoint: Endpoint,
  options: TransportOptions,
  deadline: number,
  start: Start,
) {
  let lastError: Error | undefined;
  let attempts = 0;
  for (let attempt = 1; attempt <= 2; attempt++) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    attempts = attempt;
    options.onConnectAttempt?.(attempt);
    try {
      return await connectOnce(endpoint, Math.min(options.connectTimeoutMs, remaining), start);
    } catch (error) {
      lastError = error as Error;
      // A refused TLS handshake or a bad certificate will not get better on a second try: retry network failures only.
      if (!isNetworkError(lastError)) break;
      if (attempt === 1) await pause(Math.min(RETRY_PAUSE_MS, Math.max(0, deadline - Date.now())));
    }
  }
  const reason = lastError ? describeConnectError(lastError) : 'deadline passed before a connection could be tried';
  const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
  throw new HostUnreachableError(host, `cannot connect to ${describeEndpoint(endpoint)} (${tries}): ${reason}`, {
    cause: lastError,
  });
}

// The exchange starts inside the ready callback so no socket event can slip between connect and its listeners; the
// result is wrapped so a failed exchange is not mistaken for a failed connect (and retried).
function connectOnce(endpoint: Endpoint, timeoutMs: number, start: Start): Promise<{ replies: Promise<string[]> }> {
  return new Promise((resolve, reject) => {
    let socket: Socket;
    let readyEvent = 'connect';
    if (endpoint.kind === 'unix') {
      socket = createConnection({ path: endpoint.path });
    } else if (endpoint.tls) {
      const { ca, cert, key, servername } = endpoint.tls;
      socket = tlsConnect({ host: endpoint.host, port: endpoint.port, ca, cert, key, servername });
      readyEvent = 'secureConnect';
    } else {
      socket = createConnection({ host: endpoint.host, port: endpoint.port });
    }
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`connect timeout after ${timeoutMs}ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
    socket.once(readyEvent, () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve({ replies: start(socket) });
    });
  });
}

function exchange(
  host: string,
  socket: Socket,
  commands: readonly string[],
  { deadline, limit, tls, notAfter }: { deadline: number; limit: number; tls: boolean; notAfter?: number },
): Promise<string[]> {
  const expected = commands.length + 1; // the first prompt answers `prompt` itself
  const segments: string[] = [];
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Never kept for a later batch: a connection opened before a reload keeps talking to the old worker.
      socket.destroy();
      if (error) reject(error);
      else resolve(segments.slice(1));
    };
    const answered = () => `${Math.max(0, segments.length - 1)} of ${commands.length} replies`;
    const timer = setTimeout(
      () => finish(new HostTimeoutError(host, `deadline passed with ${answered()} received`)),
      Math.max(0, deadline - Date.now()),
    );
    const framer = new Framer(limit, (segment) => {
      segments.push(segment);
      if (segments.length === 1 && segment !== '') {
        finish(new ProtocolError(host, `unexpected answer to 'prompt': ${JSON.stringify(segment.slice(0, 120))}`));
        return false;
      }
      if (segments.length === expected) {
        finish();
        return false;
      }
      return true;
    });
    socket.on('data', (chunk: Buffer) => {
      if (!settled && !framer.push(chunk)) finish(new ReplyTooLargeError(host, limit, answered()));
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // TLS 1.3 reports a rejected client certificate only now, on the first read after the handshake.
      if (tls && !isNetworkError(error)) {
        const reason = (error as { reason?: string }).reason ?? error.message.trim();
        const why = `${error.code ?? 'TLS error'} (${reason})`;
        finish(
          new HostUnreachableError(
            host,
            `TLS session rejected by the peer (client certificate missing or not trusted?): ${why}`,
          ),
        );
      } else {
        finish(new ProtocolError(host, `connection failed after ${answered()}: ${error.code ?? error.message}`));
      }
    });
    socket.on('close', () => finish(new ProtocolError(host, `peer closed the connection after ${answered()}`)));
    // Checked here, after the connect, right before the bytes leave: the last moment a stale plan can still be stopped.
    const late = notAfter === undefined ? 0 : Date.now() - notAfter;
    if (late > 0) return finish(new StalePlanError(host, late));
    socket.write(`prompt\n${commands.map((c) => `${c}\n`).join('')}`);
  });
}

const DELIMITER_BYTES = Buffer.from(DELIMITER);
const CARRY = DELIMITER_BYTES.length - 1;

/**
 * Splits a byte stream on the prompt. Each chunk is searched once from where the last delimiter ended and kept as a
 * slice (joined only when its reply is complete), so a large reply costs linear time and memory, never a rescan of
 * everything received so far. Bytes, not strings: the cap counts bytes, and a UTF-8 character split across two
 * chunks is decoded whole. `emit` returns false to stop framing (enough replies, or a bad first one).
 */
class Framer {
  private parts: Buffer[] = [];
  private size = 0;
  /** The current reply's last CARRY bytes, wherever they were received: a delimiter may begin there. */
  private tail = Buffer.alloc(0);

  constructor(
    private readonly limit: number,
    private readonly emit: (segment: string) => boolean,
  ) {}

  /** Feeds one chunk; false when the current reply went past the cap (nothing more is framed then). */
  push(chunk: Buffer): boolean {
    let from = this.straddling(chunk);
    if (from < 0) return true;
    for (let at = chunk.indexOf(DELIMITER_BYTES, from); at !== -1; at = chunk.indexOf(DELIMITER_BYTES, from)) {
      if (!this.keep(chunk.subarray(from, at))) return false;
      from = at + DELIMITER_BYTES.length;
      if (!this.flush(0)) return true;
    }
    const rest = chunk.subarray(from);
    if (!this.keep(rest)) return false;
    this.tail = Buffer.concat([this.tail, rest]).subarray(-CARRY);
    return true;
  }

  private keep(piece: Buffer): boolean {
    this.size += piece.length;
    if (this.size > this.limit) return false;
    if (piece.length > 0) this.parts.push(piece);
    return true;
  }

  /**
   * A delimiter that began in the current reply's last bytes: completes that reply and returns where this chunk's
   * own bytes start (-1 when framing stopped). Only CARRY bytes on each side of the boundary are looked at.
   */
  private straddling(chunk: Buffer): number {
    if (this.tail.length === 0 || chunk.length === 0) return 0;
    const joint = Buffer.concat([this.tail, chunk.subarray(0, CARRY)]);
    const at = joint.indexOf(DELIMITER_BYTES);
    if (at === -1 || at >= this.tail.length) return 0;
    const stored = this.tail.length - at; // delimiter bytes already kept at the end of the reply
    return this.flush(stored) ? DELIMITER_BYTES.length - stored : -1;
  }

  private flush(dropLast: number): boolean {
    const whole = Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    this.tail = Buffer.alloc(0);
    return this.emit(whole.subarray(0, whole.length - dropLast).toString('utf8'));
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOENT',
  'EAGAIN',
  'EAI_AGAIN',
]);

function isNetworkError(error: Error): boolean {
  return NETWORK_CODES.has((error as NodeJS.ErrnoException).code ?? '');
}

function describeConnectError(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code && !error.message.includes(code) ? `${code} ${error.message}` : error.message;
}

function describeEndpoint(endpoint: Endpoint): string {
  if (endpoint.kind === 'unix') return `unix:${endpoint.path}`;
  return `${endpoint.tls ? 'tls' : 'tcp'}:${endpoint.host}:${endpoint.port}`;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
