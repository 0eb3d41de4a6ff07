// Operator CLI `doctor`: how many concurrent Runtime API connections a host serves (`stats maxconn` is not observable).
import { createConnection, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Endpoint } from '../../functions/lib/haproxy/transport.js';
import type { Capacity } from './doctor-types.js';

const PROMPT = '\n> ';
// `prompt` answers with one prompt, `show cli level` with its level and a second one.
const SERVED_AT = 2;

/**
 * Opens `connections` connections at once, each in prompt mode asking `show cli level`, and keeps every one open until
 * all were answered or `waitMs` passed. A listener at its `stats maxconn` accepts no more (the kernel queues the rest),
 * so the count served while all are held is min(maxconn, connections) when nobody else is connected. Never throws.
 */
export async function probeCapacity(
  endpoint: Endpoint,
  options: { readonly connections: number; readonly waitMs: number },
): Promise<Capacity> {
  const sockets: Socket[] = [];
  const started = Date.now();
  let served = 0;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, options.waitMs);
    for (let i = 0; i < options.connections; i++) {
      const socket = open(endpoint, () => socket.write('prompt\nshow cli level\n'));
      sockets.push(socket);
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        const before = text.split(PROMPT).length - 1;
        text += chunk.toString('utf8');
        if (before < SERVED_AT && text.split(PROMPT).length - 1 >= SERVED_AT && ++served === options.connections) {
          clearTimeout(timer);
          resolve();
        }
      });
      // A refused or reset connection simply is not served.
      socket.on('error', () => {});
    }
  });
  const waitedMs = Date.now() - started;
  for (const s of sockets) s.destroy();
  return { served, of: options.connections, waitedMs };
}

function open(endpoint: Endpoint, ready: () => void): Socket {
  if (endpoint.kind === 'unix') return createConnection({ path: endpoint.path }, ready);
  if (!endpoint.tls) return createConnection({ host: endpoint.host, port: endpoint.port }, ready);
  const { ca, cert, key, servername } = endpoint.tls;
  return tlsConnect({ host: endpoint.host, port: endpoint.port, ca, cert, key, servername }, ready);
}
