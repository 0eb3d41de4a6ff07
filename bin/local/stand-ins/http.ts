// Local stack: the loopback HTTP server under each AWS stand-in, and the call log the e2e test and the CLI read.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/** One AWS API call a stand-in answered: what was asked and how it ended (`error` = the AWS error code sent). */
export interface CallRecord {
  readonly service: 'ec2' | 'autoscaling' | 'ssm';
  readonly action: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly status: number;
  readonly error?: string;
  readonly at: string;
}

/** What a route returns: status, content type and body text. */
export interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** A stand-in listening on 127.0.0.1. */
export interface StandInServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** Answers one request; `body` is the whole request body as text. */
export type Route = (req: IncomingMessage, body: string) => Reply | Promise<Reply>;

// Requests the SDK sends are small; a cap keeps a stray client from filling memory.
const MAX_BODY_BYTES = 1024 * 1024;

/** Starts `route` on 127.0.0.1:`port` (0 = any free port). */
export async function serveLoopback(route: Route, port = 0): Promise<StandInServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) req.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      Promise.resolve()
        .then(() => route(req, Buffer.concat(chunks).toString('utf8')))
        .then((reply) => send(res, reply))
        .catch((error: Error) => send(res, { status: 500, contentType: 'text/plain', body: error.message }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('stand-in has no address');
  return {
    port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, {
    'content-type': reply.contentType,
    'content-length': Buffer.byteLength(reply.body),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(reply.body);
}

/** A JSON reply (the stand-ins' `/_local/` control routes). */
export function jsonReply(status: number, value: unknown, contentType = 'application/json'): Reply {
  return { status, contentType, body: JSON.stringify(value) };
}

/** Escapes text for an XML element body. */
export function xml(text: string | number | boolean): string {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Form-encoded Query-protocol parameters (`Action=…&Version=…&InstanceId.1=…`) as a plain object. */
export function formParams(body: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body));
}

/** Values of a Query-protocol list, in order: `prefix.1`, `prefix.2`, … */
export function listParam(params: Record<string, string>, prefix: string): string[] {
  const values: string[] = [];
  for (let i = 1; params[`${prefix}.${i}`] !== undefined; i++) values.push(params[`${prefix}.${i}`] as string);
  return values;
}

/** Appends to a call log, keeping the most recent `limit` entries so a long-running stack does not grow forever. */
export function record(log: CallRecord[], entry: Omit<CallRecord, 'at'>, limit = 5_000): void {
  log.push({ ...entry, at: new Date().toISOString() });
  if (log.length > limit) log.splice(0, log.length - limit);
}
