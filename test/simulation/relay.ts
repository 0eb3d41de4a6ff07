// Simulation: a relay in front of a HAProxy stats socket that, before letting a `set server … addr` through, asks the
// host itself how many sessions the server has right then: the invariant "no slot with sessions is re-addressed",
// checked at the only moment it can be, on the real host.
import { connect, createServer, type Socket } from 'node:net';
import { oneShot } from '../../bin/harness/haproxy-util.js';
import { parseShowStat } from '../../functions/lib/haproxy/parse-stat.js';

const ADDR = /^set server ([^/\s]+)\/(\S+) addr (\S+) port (\d+)$/;
// A command that changes the host (every read is a `show`, `prompt` or `help`).
const WRITE = /^(set|add|del|enable|disable|wait) /;

/** One re-address that reached a host, with the sessions its server had at that instant. */
export interface Readdress {
  readonly at: number;
  readonly backend: string;
  readonly server: string;
  readonly address: string;
  readonly sessions: number;
}

export interface InspectingRelay {
  readonly port: number;
  readdresses(): readonly Readdress[];
  /** Forgets what was seen (a new sequence). */
  reset(): void;
  /** Destroys every open connection (a host kill looks like this to a client). */
  drop(): void;
  /**
   * While on, a connection that carries a command changing the host is cut before any of it reaches the host: the
   * host answers every look and takes no batch (a flapping link, a socket shared with another process).
   */
  dropWrites(on: boolean): void;
  close(): Promise<void>;
}

async function sessionsOf(statsPort: number, backend: string, server: string): Promise<number> {
  const reply = await oneShot(statsPort, `show stat ${backend} 4 -1`, 2_000);
  return parseShowStat(reply, new Set([server]))[0]?.sessions ?? 0;
}

/** Relays 127.0.0.1:<new port> ⇄ the host's stats port; every chunk with an `addr` is inspected before it goes on. */
export async function startInspectingRelay(statsPort: number): Promise<InspectingRelay> {
  const seen: Readdress[] = [];
  const sockets = new Set<Socket>();
  let droppingWrites = false;
  const server = createServer((client) => {
    const upstream = connect(statsPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    let partial = '';
    let queue = Promise.resolve();
    client.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      if (droppingWrites && lines.some((l) => WRITE.test(l))) {
        client.destroy();
        upstream.destroy();
        return;
      }
      const addrs = lines.map((l) => ADDR.exec(l)).filter((m): m is RegExpExecArray => m !== null);
      // Chunks stay in order; only those that re-address wait for the look at the host.
      queue = queue.then(async () => {
        for (const m of addrs) {
          const [, backend = '', srv = '', address = ''] = m;
          const sessions = await sessionsOf(statsPort, backend, srv).catch(() => 0);
          seen.push({ at: Date.now(), backend, server: srv, address, sessions });
        }
        if (!upstream.destroyed) upstream.write(chunk);
      });
    });
    upstream.pipe(client);
    client.on('end', () => void queue.then(() => upstream.end()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('relay has no port');
  return {
    port: address.port,
    readdresses: () => seen,
    reset: () => {
      seen.length = 0;
      droppingWrites = false;
    },
    dropWrites: (on) => {
      droppingWrites = on;
    },
    drop: () => {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
