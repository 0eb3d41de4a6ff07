// Parsing only some servers' rows (a one-slot sync) gives exactly those rows of the full parse, quoted fields or not.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseServersState } from '../../../functions/lib/haproxy/parse-servers-state.js';
import { parseShowStat } from '../../../functions/lib/haproxy/parse-stat.js';
import { CAPTURED_VERSIONS, capturedReply } from '../../support/version-fixtures.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/haproxy/${name}`, import.meta.url), 'utf8');
const plain = (row: { fields: unknown }) => ({ ...row, fields: { ...(row.fields as object) } });

describe('observing only some servers', () => {
  it.each(['show-stat.csv', 'show-stat-be.csv', 'show-stat-fresh.csv', 'reference-show-stat-mixed.csv'])(
    'parses exactly the chosen rows of %s',
    (name) => {
      const text = fixture(name);
      const all = parseShowStat(text);
      const names = [...new Set(all.map((r) => r.server))];
      fc.assert(
        fc.property(fc.subarray(names), (chosen) => {
          const only = new Set(chosen);
          expect(parseShowStat(text, only).map(plain)).toEqual(all.filter((r) => only.has(r.server)).map(plain));
        }),
        { numRuns: 50 },
      );
    },
  );

  it('filters a reply with quoted fields (the full CSV parser path) the same way', () => {
    const text = fixture('show-stat.csv');
    expect(text.includes('"')).toBe(true);
    const quoted = parseShowStat(text).find((r) => JSON.stringify(r.fields).includes(','));
    const only = new Set([quoted?.server ?? '']);
    expect(parseShowStat(text, only).map((r) => r.server)).toEqual([quoted?.server]);
  });

  it.each(['show-servers-state.txt', 'show-servers-state-be.txt', 'reference-servers-state-mixed.txt'])(
    'parses exactly the chosen servers of %s',
    (name) => {
      const text = fixture(name);
      const all = parseServersState(text);
      const names = [...new Set(all.map((r) => r.server))];
      fc.assert(
        fc.property(fc.subarray(names), (chosen) => {
          const only = new Set(chosen);
          expect(parseServersState(text, only).map(plain)).toEqual(all.filter((r) => only.has(r.server)).map(plain));
        }),
        { numRuns: 50 },
      );
    },
  );

  it.each(CAPTURED_VERSIONS)('parses exactly the chosen rows of what %s answered, both replies', (version) => {
    const stat = capturedReply(version, 'replies.txt', 'show stat be 4 -1');
    const state = capturedReply(version, 'replies.txt', 'show servers state be');
    const names = [...new Set(parseServersState(state).map((r) => r.server))];
    expect(names.length).toBeGreaterThan(1);
    fc.assert(
      fc.property(fc.subarray(names), (chosen) => {
        const only = new Set(chosen);
        expect(parseShowStat(stat, only).map(plain)).toEqual(
          parseShowStat(stat)
            .filter((r) => only.has(r.server))
            .map(plain),
        );
        expect(parseServersState(state, only).map(plain)).toEqual(
          parseServersState(state)
            .filter((r) => only.has(r.server))
            .map(plain),
        );
      }),
      { numRuns: 30 },
    );
  });
});
