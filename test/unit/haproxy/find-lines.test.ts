// Finding a few servers' lines by search must give exactly the lines a split-and-filter gives, in the same order.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { linesWithField } from '../../../functions/lib/haproxy/find-lines.js';

/** What the search replaces: every line after the first `skip` whose field `n` is wanted. */
const byFilter = (text: string, names: ReadonlySet<string>, sep: string, n: number, skip: number) =>
  text
    .split('\n')
    .slice(skip)
    .filter((line) => names.has(line.split(sep)[n] ?? '\0'));

describe('linesWithField', () => {
  it('passes over a wanted name that stands in another field of a line', () => {
    const text = '# h\n1 web 1 s2 s1 x\n1 web 2 s1 s2 x\n';
    expect(linesWithField(text, new Set(['s1']), ' ', 3)).toEqual(['1 web 2 s1 s2 x']);
  });

  it('returns a server listed twice twice, in text order, and never the header lines', () => {
    const text = 's1,s1,\ns1,x,\nweb,s1,a\nweb,s2,b\nweb,s1,c';
    expect(linesWithField(text, new Set(['s2', 's1']), ',', 1, 2)).toEqual(['web,s1,a', 'web,s2,b', 'web,s1,c']);
  });

  it('finds nothing for a name that is not there, or that could never be a field', () => {
    const text = '# h\nweb,s1,a\n';
    expect(linesWithField(text, new Set(['s9', 's1,a', '', 'a\nweb']), ',', 1)).toEqual([]);
  });

  it('agrees with splitting every line, for any lines whose fields collide with the names', () => {
    const token = fc.constantFrom('s1', 's2', 's10', 'web', '1', '', 's');
    const line = fc.array(token, { minLength: 0, maxLength: 6 }).map((f) => f.join(','));
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 12 }),
        fc.subarray(['s1', 's2', 's10', 'web', '1']),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 2 }),
        (lines, wanted, n, skip) => {
          const text = lines.join('\n');
          const names = new Set(wanted);
          expect(linesWithField(text, names, ',', n, skip)).toEqual(byFilter(text, names, ',', n, skip));
        },
      ),
      { numRuns: 500 },
    );
  });
});
