// Free loopback ports for harness processes: HAProxy shares a port silently (SO_REUSEPORT), so every test asks anew.
//
// Why not simply the kernel's `listen(0)`: two processes asking at about the same time are handed the same port far
// more often than chance would say (Linux walks its ephemeral range from a hashed offset: two node processes taking
// 3,000 ports each at once were given the same port within 500 ms 1,217 times here). The port is free again between
// our probe and the bind of whoever uses it, so two test workers could both start an HAProxy on it. `noreuseport` in
// the harness config turns that into a failed bind and a retry, but master-worker hosts (reload tests) must keep
// SO_REUSEPORT, and there both would bind and answer each other's connections. So each vitest worker takes ports
// from a block of its own, below the ephemeral range: no other worker and no outgoing connection is given one there.
import { createServer } from 'node:net';

/** First port of the worker blocks; they end below Linux's default ephemeral range (32768–60999). */
const BLOCKS_START = 10_000;
const BLOCK_SIZE = 2_000;
const BLOCKS = 11;

const handedOut = new Set<number>();

/** The block `[first, first + BLOCK_SIZE)` of this vitest worker, or undefined outside vitest (kernel's choice). */
export function workerBlock(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const id = Number(env.VITEST_POOL_ID ?? '');
  if (!Number.isInteger(id) || id < 1) return undefined;
  return BLOCKS_START + ((id - 1) % BLOCKS) * BLOCK_SIZE;
}

/** Whether `port` on 127.0.0.1 can be listened on now (nothing else holds it; node sets SO_REUSEADDR, not REUSEPORT). */
function canListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago and has not been handed out before in this process. */
export async function freePort(): Promise<number> {
  const first = workerBlock();
  // A random start: the next test file of the same worker (a new process) does not walk the same ports first.
  const offset = Math.floor(Math.random() * BLOCK_SIZE);
  for (let attempt = 0; attempt < (first === undefined ? 50 : BLOCK_SIZE); attempt++) {
    const wanted = first === undefined ? 0 : first + ((offset + attempt) % BLOCK_SIZE);
    if (handedOut.has(wanted)) continue;
    const port = await canListen(wanted);
    if (port !== undefined && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(first === undefined ? 'could not find a fresh free port' : `no free port left in ${first}+`);
}

/** Several distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(await freePort());
  return ports;
}
