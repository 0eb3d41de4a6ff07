// Counting a loopback relay's client connections (the tests' wiretap, the storm benchmark's relay): how many were made
// and the most open at once, as the stats socket would see them.
import type { Socket } from 'node:net';

/** Counts the connections handed to `opened`: their total and the most open at once. */
export interface ConnectionCount {
  opened(client: Socket): void;
  total(): number;
  maxOpen(): number;
}

export function connectionCount(): ConnectionCount {
  let total = 0;
  let open = 0;
  let maxOpen = 0;
  return {
    opened(client) {
      total++;
      open++;
      // Counted after this turn's I/O: a client that closed one connection and opened the next at once has its FIN
      // and its new connection ready in the same poll, in either order; the FIN's 'end' runs before this check.
      setImmediate(() => {
        maxOpen = Math.max(maxOpen, open);
      });
      // Closed when the client is done sending (its FIN), not when the relay has torn both sides down: the client's
      // next connection may be accepted before this one's teardown has run.
      let counted = true;
      const closed = () => {
        if (counted) open--;
        counted = false;
      };
      client.once('end', closed).once('close', closed);
    },
    total: () => total,
    maxOpen: () => maxOpen,
  };
}
