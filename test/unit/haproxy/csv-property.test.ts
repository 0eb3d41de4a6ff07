// Property: any field values, rendered the way HAProxy writes `show stat` CSV under the real header, parse back exactly.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseShowStat } from '../../../functions/lib/haproxy/parse-stat.js';

const realHeader =
  readFileSync(new URL('../../fixtures/haproxy/show-stat-be.csv', import.meta.url), 'utf8').split('\n')[0] ?? '';
// `# pxname,…,h1_spliced_bytes_out,`: the trailing comma makes an unnamed last column that every row also ends with.
const names = realHeader.slice(2).split(',').slice(0, -1);

/** RFC 4180 as HAProxy's csv_enc does it: quote only when needed, double the quotes inside. */
function render(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

const nasty = fc.constantFrom(',', '"', ' ', '""', ', "x"', '\n', '\r\n', '#', '-', "'");
const anyText = fc.oneof(
  fc.constant(''),
  fc.string(),
  fc.array(fc.oneof(nasty, fc.string({ maxLength: 3 })), { maxLength: 6 }).map((parts) => parts.join('')),
);
// The columns the parser interprets must hold what HAProxy puts there; every other column is free text.
const typed: Record<string, fc.Arbitrary<string>> = {
  type: fc.constantFrom('0', '1', '2'),
  scur: fc.nat().map(String),
  uweight: fc.integer({ min: 0, max: 256 }).map(String),
  addr: fc.oneof(
    fc.constant(''),
    fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 65535 })).map(([ip, port]) => `${ip}:${port}`),
    fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 65535 })).map(([ip, port]) => `[${ip}]:${port}`),
  ),
};
const row = fc.record(
  Object.fromEntries(names.map((name) => [name, typed[name] ?? anyText])) as Record<string, fc.Arbitrary<string>>,
);

describe('show stat CSV round trip (property)', () => {
  it('has the real 128-column header to render under', () => {
    expect(names).toHaveLength(128);
    expect(names.slice(0, 2)).toEqual(['pxname', 'svname']);
  });

  it('parses every rendered field back to exactly the generated value, in order', () => {
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 5 }), (rows) => {
        const lines = rows.map((r) => `${names.map((name) => render(r[name] ?? '')).join(',')},`);
        const parsed = parseShowStat(`${realHeader}\n${lines.join('\n')}\n\n`);
        expect(parsed.map((p) => p.fields)).toEqual(rows);
        expect(parsed.map((p) => [p.backend, p.server, p.sessions])).toEqual(
          rows.map((r) => [r.pxname, r.svname, Number(r.scur)]),
        );
      }),
      { numRuns: 300 },
    );
  });
});
