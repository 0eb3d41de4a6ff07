// Local stack: fixed, friendly ports when they are free, fresh ones when not (HAProxy would silently share a port).
import { createServer } from 'node:net';
import { freePort } from '../harness/ports.js';

/** True when `host:port` can be bound right now (plain bind, no SO_REUSEPORT, so a listening HAProxy blocks it). */
export function bindable(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

// Ports chosen by this process but not yet bound by whoever will listen on them.
const chosen = new Set<number>();

/** `preferred` if it is free on every host in `hosts`, else a fresh free port that is (one free-port implementation). */
export async function portOr(preferred: number | undefined, hosts: readonly string[] = ['127.0.0.1']): Promise<number> {
  const freeOnAll = async (port: number) =>
    !chosen.has(port) && (await Promise.all(hosts.map((h) => bindable(port, h)))).every(Boolean);
  const take = (port: number) => {
    chosen.add(port);
    return port;
  };
  if (preferred && (await freeOnAll(preferred))) return take(preferred);
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort();
    if (await freeOnAll(port)) return take(port);
  }
  throw new Error(`no port free on all of ${hosts.join(', ')}`);
}
