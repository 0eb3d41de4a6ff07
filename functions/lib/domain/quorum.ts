// Domain: how many hosts must have applied a change before it counts (config `quorum`).
export type Quorum = 'all' | 'majority' | 'any';

/** True when `applied` of `total` hosts satisfies the quorum. With no hosts nothing can be applied. */
export function quorumMet(quorum: Quorum, applied: number, total: number): boolean {
  if (total === 0) return false;
  switch (quorum) {
    case 'all':
      return applied === total;
    case 'majority':
      return applied > total / 2;
    case 'any':
      return applied >= 1;
  }
}
