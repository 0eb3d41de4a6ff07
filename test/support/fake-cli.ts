// Fake HAProxy CLI peers on loopback for transport tests: answer once a request has N lines, or stream forever.
import { createServer, type Server, type Socket } from 'node:net';
import type { Endpoint } from '../../functions/lib/haproxy/transport.js';

/** A fake CLI server: what it received and how to stop it. */
export interface FakeCli {
  endpoint: Endpoint;
  connections: number;
  requests: string[];
  closedByClient: number;
  close(): Promise<void>;
}

/**
 * A fake CLI: once a connection has sent `lines` newline-terminated lines, `respond` writes whatever the test wants.
 * Listens on `path` (unix socket) when given, else on a fresh loopback TCP port.
 */
export async function fakeCli(
  lines: number,
  respond: (socket: Socket) => Promise<void> | void,
  path?: string,
): Promise<FakeCli> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    fake.connections++;
    sockets.add(socket);
    socket.setNoDelay(true);
    let request = '';
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.on('end', () => fake.closedByClient++);
    socket.on('data', (chunk) => {
      request += chunk.toString('utf8');
      if (request.split('\n').length - 1 === lines) {
        fake.requests.push(request);
        void respond(socket);
      }
    });
  });
  const fake: FakeCli = {
    endpoint: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    connections: 0,
    requests: [],
    closedByClient: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  await new Promise<void>((resolve) => (path ? server.listen(path, resolve) : server.listen(0, '127.0.0.1', resolve)));
  const address = server.address();
  fake.endpoint = path
    ? { kind: 'unix', path }
    : { kind: 'tcp', host: '127.0.0.1', port: (address as { port: number }).port };
  return fake;
}

/** Writes `chunks` as separate TCP segments, so the client really sees the stream in pieces. */
export async function writeChunks(socket: Socket, chunks: ReadonlyArray<string | Buffer>): Promise<void> {
  for (const chunk of chunks) {
    socket.write(chunk);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * A hostile peer: after the prompt, writes `chunk` again and again (honouring backpressure, so the fake itself stays
 * small) until the client goes away or `maxBytes` is reached. Resolves with the number of bytes it got to write.
 */
export function streamEndlessly(socket: Socket, chunk: Buffer, maxBytes: number): Promise<number> {
  return new Promise((resolve) => {
    let written = 0;
    let done = false;
    const stop = () => {
      if (!done) resolve(written);
      done = true;
    };
    socket.once('close', stop);
    socket.once('error', stop);
    const pump = () => {
      while (!done && !socket.destroyed && written < maxBytes) {
        written += chunk.length;
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
      if (written >= maxBytes) stop();
    };
    socket.write('\n> ');
    pump();
  });
}
