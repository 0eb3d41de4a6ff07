// Fault stand-ins on loopback: a TCP server that accepts and never answers, and a port where nothing listens.
import { createServer, type Socket } from 'node:net';
import { freePort } from '../../bin/harness/ports.js';

/** A running black hole: how many connections it accepted, and how to close it (destroying those connections). */
export interface BlackHole {
  readonly port: number;
  connections(): number;
  close(): Promise<void>;
}

/** Starts a loopback server that accepts connections, reads and discards everything, and never writes a byte. */
export async function startBlackHole(): Promise<BlackHole> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('black hole has no address');
  return {
    port: address.port,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port where nothing listens, so a connect is refused at once (ECONNREFUSED). */
export async function refusedPort(): Promise<number> {
  return freePort();
}
