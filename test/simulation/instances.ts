// Simulation: the members' HTTP servers on loopback, each logging when every client request arrived (the load's
// `/load`, not HAProxy's health checks), so the checks can tell whether a request reached a member after its terminate.
import { createServer, type Server } from 'node:http';

/** A running member server at one address. */
export interface SimInstance {
  readonly address: string;
  /** Epoch ms of every `/load` request received since the last reset. */
  arrivals(): readonly number[];
  reset(): void;
  close(): Promise<void>;
}

/** Starts a server that answers 200 with `label` on every path; `/sleep/<ms>` answers after that long. */
export async function startSimInstance(address: string, port: number, label: string): Promise<SimInstance> {
  let arrivals: number[] = [];
  const server: Server = createServer((req, res) => {
    if (req.url === '/load') arrivals.push(Date.now());
    const sleep = /^\/sleep\/(\d+)$/.exec(req.url ?? '');
    const answer = () => res.writeHead(200, { 'content-type': 'text/plain' }).end(label);
    if (sleep) setTimeout(answer, Number(sleep[1]));
    else answer();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, resolve);
  });
  return {
    address,
    arrivals: () => arrivals,
    reset: () => {
      arrivals = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
