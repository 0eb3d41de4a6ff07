// Command builders: exact texts for valid values, InvalidArgumentError for anything that could smuggle text to the socket.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Command,
  enableHealth,
  getWeight,
  setAddr,
  setState,
  setWeight,
  showInfo,
  showServersState,
  showStat,
} from '../../../functions/lib/domain/commands.js';
import { InvalidArgumentError } from '../../../functions/lib/errors.js';
import { renderCommand } from '../../../functions/lib/haproxy/commands.js';

// Values the type system would refuse still arrive at runtime from events and webhooks.
const any = <T>(value: unknown): T => value as T;

describe('command builders with valid values', () => {
  it.each([
    [
      'set-addr IPv4',
      () => setAddr('be', 'websrv1', '127.0.0.1', 8001),
      'set-addr',
      'set server be/websrv1 addr 127.0.0.1 port 8001',
    ],
    ['set-addr IPv6', () => setAddr('be', 'websrv1', '::1', 1), 'set-addr', 'set server be/websrv1 addr ::1 port 1'],
    [
      'set-addr full IPv6',
      () => setAddr('be', 'w', '2001:db8::a:1', 65535),
      'set-addr',
      'set server be/w addr 2001:db8::a:1 port 65535',
    ],
    ['set-state ready', () => setState('be', 'websrv1', 'ready'), 'set-state', 'set server be/websrv1 state ready'],
    ['set-state drain', () => setState('be', 'websrv1', 'drain'), 'set-state', 'set server be/websrv1 state drain'],
    ['set-state maint', () => setState('be', 'websrv1', 'maint'), 'set-state', 'set server be/websrv1 state maint'],
    ['set-weight 0', () => setWeight('be', 'websrv1', 0), 'set-weight', 'set server be/websrv1 weight 0'],
    ['set-weight 256', () => setWeight('be', 'websrv1', 256), 'set-weight', 'set server be/websrv1 weight 256'],
    ['enable-health', () => enableHealth('be', 'websrv1'), 'enable-health', 'enable health be/websrv1'],
    ['get-weight', () => getWeight('be', 'websrv1'), 'get-weight', 'get weight be/websrv1'],
    ['show-stat', () => showStat('be'), 'show-stat', 'show stat be 4 -1'],
    ['show-stat of one server id', () => showStat('be', 17), 'show-stat', 'show stat be 4 17'],
    ['show-stat of the largest id', () => showStat('be', 2_147_483_647), 'show-stat', 'show stat be 4 2147483647'],
    ['show-servers-state', () => showServersState('be'), 'show-servers-state', 'show servers state be'],
    ['show-info', () => showInfo(), 'show-info', 'show info'],
    [
      'every allowed name character',
      () => getWeight('Be-1_x.y:z', 'S:9.a-b_c'),
      'get-weight',
      'get weight Be-1_x.y:z/S:9.a-b_c',
    ],
    ['a 100-character name', () => showStat('b'.repeat(100)), 'show-stat', `show stat ${'b'.repeat(100)} 4 -1`],
  ])('builds %s', (_name, build, kind, text) => {
    const command = build();
    expect(command.kind).toBe(kind);
    expect(renderCommand(command)).toBe(text);
  });

  it('records backend and server on the command so replies can be attributed', () => {
    expect(setState('be', 'websrv3', 'drain')).toMatchObject({ backend: 'be', server: 'websrv3' });
  });
});

const badNames: Array<[string, unknown]> = [
  ['semicolon', 'be;show info'],
  ['lone semicolon', ';'],
  ['newline', 'be\nshow info'],
  ['carriage return', 'be\r'],
  ['space', 'b e'],
  ['tab', 'b\te'],
  ['empty', ''],
  ['slash', 'be/websrv1'],
  ['Cyrillic a look-alike', 'b\u0430ckend'],
  ['fullwidth letters', '\uff42\uff45'],
  ['Arabic-Indic digit', 'websrv\u0663'],
  ['overlong (101 chars)', 'b'.repeat(101)],
  ['not a string', 42],
  ['undefined', undefined],
];

describe('names that are refused', () => {
  it.each(badNames)('rejects a backend with %s', (_name, value) => {
    expect(() => getWeight(any(value), 'websrv1')).toThrow(InvalidArgumentError);
  });
  it.each(badNames)('rejects a server with %s', (_name, value) => {
    expect(() => setState('be', any(value), 'ready')).toThrow(InvalidArgumentError);
  });
});

describe('addresses that are refused', () => {
  it.each<[string, unknown]>([
    ['semicolon', '127.0.0.1;show info'],
    ['newline', '127.0.0.1\n'],
    ['carriage return', '127.0.0.1\r'],
    ['leading space', ' 127.0.0.1'],
    ['tab', '127.0.0.1\t'],
    ['empty', ''],
    ['fullwidth digits', '\uff11\uff12\uff17.0.0.1'],
    ['Arabic-Indic digit', '12\u0663.0.0.1'],
    ['Cyrillic a in IPv6', 'fe80::\u0430'],
    ['overlong (101 chars)', '1'.repeat(101)],
    ['hostname', 'localhost'],
    ['FQDN', 'myhost.example'],
    ['ip:port', '127.0.0.1:8001'],
    ['bracketed IPv6', '[::1]'],
    ['IPv6 zone id', 'fe80::1%eth0'],
    ['octet out of range', '999.1.1.1'],
    ['short IPv4 form', '127.1'],
    ['not a string', 2130706433],
  ])('rejects %s', (_name, value) => {
    expect(() => setAddr('be', 'websrv1', any(value), 8001)).toThrow(InvalidArgumentError);
  });
});

describe('ports, weights and states that are refused', () => {
  it.each<[string, unknown]>([
    ['0', 0],
    ['99999', 99999],
    ['65536', 65536],
    ['-1', -1],
    ['1.5', 1.5],
    ["'80' (string)", '80'],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('rejects port %s', (_name, value) => {
    expect(() => setAddr('be', 'websrv1', '127.0.0.1', any(value))).toThrow(InvalidArgumentError);
  });

  it.each<[string, unknown]>([
    ['-1', -1],
    ['257', 257],
    ['2.5', 2.5],
    ["'50%'", '50%'],
    ["'50' (string)", '50'],
    ['NaN', Number.NaN],
  ])('rejects weight %s', (_name, value) => {
    expect(() => setWeight('be', 'websrv1', any(value))).toThrow(InvalidArgumentError);
  });

  it.each(['READY', 'up', 'Ready', 'down', '', 'ready ', 'ready;', 'maint\n'])('rejects state %j', (value) => {
    expect(() => setState('be', 'websrv1', any(value))).toThrow(InvalidArgumentError);
  });

  it.each<[string, unknown]>([
    ['0', 0],
    ['-1 (every server: only ever without an id)', -1],
    ['2147483648', 2_147_483_648],
    ['1.5', 1.5],
    ["'3' (string)", '3'],
    ["'3;' (string)", '3;'],
    ['NaN', Number.NaN],
  ])('rejects server id %s', (_name, value) => {
    expect(() => showStat('be', any(value))).toThrow(expect.objectContaining({ field: 'server id' }));
  });

  it('names the offending field in the error', () => {
    expect(() => setAddr('be', 'websrv1', '127.0.0.1', 0)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'port' }),
    );
  });
});

describe('builders on arbitrary input (property)', () => {
  const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.stringMatching(/^[A-Za-z0-9._:-]{1,12}$/));
  const name = fc.oneof(text, fc.constantFrom('be', 'websrv1', 'a;b', 'a b', 'a\nb', ''));
  const address = fc.oneof(text, fc.ipV4(), fc.ipV6(), fc.constantFrom('127.0.0.1 port 1', '::1;'));
  const port = fc.oneof(fc.integer({ min: -10, max: 70_000 }), fc.integer(), fc.double(), text);
  const weight = fc.oneof(fc.integer({ min: -5, max: 300 }), fc.double(), text);
  const state = fc.oneof(text, fc.constantFrom('ready', 'drain', 'maint'));

  // Both outcomes must actually occur, or the property would hold vacuously.
  const seen = { built: 0, refused: 0 };
  afterEach(() => {
    expect(seen.built).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
    seen.built = 0;
    seen.refused = 0;
  });

  // Either the builder refuses, or its text has exactly the template's words: nothing injected, nothing split.
  function refusesOrIsClean(build: () => Command, spaces: number): void {
    let out: string;
    try {
      out = renderCommand(build());
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidArgumentError);
      seen.refused++;
      return;
    }
    seen.built++;
    expect(out).not.toMatch(/[;\n\r]/);
    expect(out.split(' ').length - 1).toBe(spaces);
  }

  it('set-addr either throws InvalidArgumentError or has no ; \\n \\r and exactly 6 spaces', () => {
    fc.assert(
      fc.property(name, name, address, port, (b, s, a, p) => {
        refusesOrIsClean(() => setAddr(b, s, a, any(p)), 6);
      }),
      { numRuns: 2000 },
    );
  });

  it('set-state and set-weight either throw or have exactly 4 spaces', () => {
    fc.assert(
      fc.property(name, name, state, weight, (b, s, st, w) => {
        refusesOrIsClean(() => setState(b, s, any(st)), 4);
        refusesOrIsClean(() => setWeight(b, s, any(w)), 4);
      }),
      { numRuns: 2000 },
    );
  });

  it('the backend/server and backend-only builders either throw or keep their word count', () => {
    fc.assert(
      fc.property(name, name, (b, s) => {
        refusesOrIsClean(() => enableHealth(b, s), 2);
        refusesOrIsClean(() => getWeight(b, s), 2);
        refusesOrIsClean(() => showStat(b), 4);
        refusesOrIsClean(() => showStat(b, s.length), 4);
        refusesOrIsClean(() => showServersState(b), 3);
      }),
      { numRuns: 2000 },
    );
  });
});
