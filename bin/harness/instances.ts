// Sample HTTP instances on loopback that answer with their own id, so a test sees which instance HAProxy picked.
import { createServer, request } from 'node:http';

/** A running sample instance. */
export interface Instance {
  readonly id: string;
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts `n` instances named `${prefix}1..n`: 200 with body = id on every path; `GET /sleep/<ms>` answers after <ms>. */
export async function startInstances(n: number, prefix = 'i-'): Promise<Instance[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => startInstance(`${prefix}${i + 1}`)));
}

/**
 * Starts one instance on a given loopback address and port. Members of one backend share the config's port, as
 * EC2 instances do, so tests give each its own 127.0.0.x address.
 */
export async function startInstanceAt(id: string, address: string, port: number): Promise<Instance> {
  return startInstance(id, address, port);
}

async function startInstance(id: string, host = '127.0.0.1', port = 0): Promise<Instance> {
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const sleep = /^\/sleep\/(\d+)$/.exec(req.url ?? '');
    const answer = () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(id);
    };
    if (!sleep) return answer();
    const timer = setTimeout(() => {
      timers.delete(timer);
      answer();
    }, Number(sleep[1]));
    timers.add(timer);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error(`instance ${id} has no address`);
  return {
    id,
    address: host,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One HTTP GET to 127.0.0.1:port (no keep-alive), resolving `{status, body}` or rejecting after `timeoutMs`. */
export function httpGet(port: number, path = '/', timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET 127.0.0.1:${port}${path} timed out after ${timeoutMs}ms`)));
    req.on('error', reject);
    req.end();
  });
}
