// A loopback TCP relay in front of a real HAProxy stats socket that records every byte clients send through it.
import { connect, createServer, type Socket } from 'node:net';
import { connectionCount } from '../../bin/harness/connection-count.js';

/** A running relay: point a HostConfig at `port`; `sent()` is everything clients wrote, split into lines. */
export interface Wiretap {
  readonly port: number;
  sent(): string[];
  /** The same lines with the time (epoch ms) the relay received the chunk that completed each. */
  timed(): { readonly at: number; readonly line: string }[];
  /** Connections made through the relay, and the most that were open at once. */
  connections(): { readonly total: number; readonly maxOpen: number };
  /** What each connection carried (its text, in order of connection). */
  perConnection(): string[];
  close(): Promise<void>;
}

/** Relays 127.0.0.1:<new port> ⇄ 127.0.0.1:<targetPort>, recording the client → HAProxy direction. */
export async function startWiretap(targetPort: number): Promise<Wiretap> {
  let recorded = '';
  let partial = '';
  const lines: { at: number; line: string }[] = [];
  const sockets = new Set<Socket>();
  const count = connectionCount();
  const carried: string[] = [];
  const server = createServer((client) => {
    count.opened(client);
    const mine = carried.push('') - 1;
    client.on('data', (chunk) => {
      carried[mine] += chunk.toString('utf8');
    });
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk) => {
      const text = chunk.toString('utf8');
      recorded += text;
      const parts = (partial + text).split('\n');
      partial = parts.pop() ?? '';
      const at = Date.now();
      for (const line of parts) if (line.length > 0) lines.push({ at, line });
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('wiretap has no port');
  return {
    port: address.port,
    sent: () => recorded.split('\n').filter((line) => line.length > 0),
    timed: () => [...lines],
    connections: () => ({ total: count.total(), maxOpen: count.maxOpen() }),
    perConnection: () => [...carried],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
