// Domain: natural order of slot names, shared by the planner, the store and the CLI so every listing sorts alike.

const CHUNKS = /(\d+)/;

/** Natural order of slot names: web2 before web10; digit runs compare by value, the rest by code unit. */
export function naturalCompare(a: string, b: string): number {
  const x = a.split(CHUNKS);
  const y = b.split(CHUNKS);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i] as string;
    const q = y[i] as string;
    if (p === q) continue;
    // split() with a capture group puts digit runs at odd indexes.
    if (i % 2 === 1) {
      const d = BigInt(p) - BigInt(q);
      if (d !== 0n) return d < 0n ? -1 : 1;
      return p.length - q.length; // web01 after web1: same value, keep a total order
    }
    return p < q ? -1 : 1;
  }
  return x.length - y.length;
}
