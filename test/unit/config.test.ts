import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig, parseEnv } from '../../functions/lib/config.js';
import { ConfigError } from '../../functions/lib/errors.js';

const minimal = {
  hosts: [{ name: 'hap1', host: '127.0.0.1', port: 9999 }],
  backends: [{ name: 'web', slotPrefix: 'web', port: 8080 }],
};

describe('parseConfig', () => {
  it('fills the documented defaults and freezes the result', () => {
    const config = parseConfig(JSON.stringify(minimal));
    expect(config.quorum).toBe('all');
    expect(config.timeouts).toEqual({
      connectMs: 1000,
      commandMs: 5000,
      planTtlMs: 1000,
      clockSkewMs: 500,
      pollMs: 100,
      drainPollMs: 1000,
    });
    expect(config.lifecycle).toEqual({
      onNoSlot: 'ABANDON',
      heartbeatSeconds: 300,
      hookTimeoutSeconds: 600,
      launchTimeoutSeconds: 300,
      stateChangeDrainSeconds: 30,
      spotMarginSeconds: 10,
    });
    expect(config.backends[0]).toMatchObject({
      weight: 1,
      drainSeconds: 300,
      autoScalingGroups: [],
      onRebalance: 'ignore',
    });
    expect(Object.isFrozen(config.backends[0])).toBe(true);
  });

  it.each([
    ['an unknown top-level key', { ...minimal, extra: 1 }, /Unrecognized key/],
    [
      'an unknown backend key',
      { ...minimal, backends: [{ ...minimal.backends[0], slotprefix: 'x' }] },
      /Unrecognized key/,
    ],
    [
      'a backend name with a space',
      { ...minimal, backends: [{ ...minimal.backends[0], name: 'web 1' }] },
      /backends\.0\.name/,
    ],
    ['a port of 0', { ...minimal, hosts: [{ ...minimal.hosts[0], port: 0 }] }, /hosts\.0\.port/],
    ['no hosts', { ...minimal, hosts: [] }, /hosts/],
    [
      'two hosts with one name',
      { ...minimal, hosts: [minimal.hosts[0], minimal.hosts[0]] },
      /duplicate host name hap1/,
    ],
    ['a weight of 257', { ...minimal, backends: [{ ...minimal.backends[0], weight: 257 }] }, /backends\.0\.weight/],
    ['an unknown quorum', { ...minimal, quorum: 'most' }, /quorum/],
  ])('rejects %s with a ConfigError naming the field', (_name, doc, message) => {
    expect(() => parseConfig(doc)).toThrow(ConfigError);
    expect(() => parseConfig(doc)).toThrow(message);
  });

  it('rejects text that is not JSON with a ConfigError, not a SyntaxError', () => {
    expect(() => parseConfig('{hosts:')).toThrow(ConfigError);
  });

  it('never throws anything but ConfigError for arbitrary documents', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.jsonValue()), (doc) => {
        try {
          parseConfig(doc);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseEnv', () => {
  it('needs the slot table and one config source', () => {
    expect(() => parseEnv({ SLOT_TABLE: 't' })).toThrow(/CONFIG_PARAMETER or CONFIG_JSON/);
    expect(() => parseEnv({ CONFIG_JSON: '{}' })).toThrow(/SLOT_TABLE/);
    expect(parseEnv({ SLOT_TABLE: 't', CONFIG_PARAMETER: '/p' })).toMatchObject({
      SLOT_TABLE: 't',
      CONFIG_PARAMETER: '/p',
    });
  });
});

describe('lifecycle hook timings', () => {
  const base = {
    hosts: [{ name: 'h1', host: '127.0.0.1', port: 9999 }],
    backends: [{ name: 'web', slotPrefix: 'web', port: 8080 }],
  };

  it('refuses a heartbeat period the hook cannot survive between two reconcile passes', () => {
    const doc = { ...base, lifecycle: { heartbeatSeconds: 300, hookTimeoutSeconds: 300 } };
    expect(() => parseConfig(doc)).toThrow(/lifecycle\.heartbeatSeconds: must be below hookTimeoutSeconds \(300\)/);
  });

  it('refuses a drain longer than heartbeats can keep the terminate hook alive (100 × timeout, at most 48 h)', () => {
    const short = { ...base, lifecycle: { heartbeatSeconds: 10, hookTimeoutSeconds: 90 } };
    const drain = (drainSeconds: number) => ({ ...short, backends: [{ ...base.backends[0], drainSeconds }] });
    // 100 × 90 s = 9000 s, less one 60 s reconcile period.
    expect(() => parseConfig(drain(8_941))).toThrow(/backends\.0\.drainSeconds: 8941s cannot finish/);
    expect(parseConfig(drain(8_940)).backends[0]?.drainSeconds).toBe(8_940);
    const long = {
      ...base,
      lifecycle: { hookTimeoutSeconds: 7_200 },
      backends: [{ ...base.backends[0], drainSeconds: 86_400 }],
    };
    expect(parseConfig(long).backends[0]?.drainSeconds).toBe(86_400);
  });

  it('refuses a launch timeout the launch hook cannot be kept alive for', () => {
    const doc = { ...base, lifecycle: { heartbeatSeconds: 10, hookTimeoutSeconds: 30, launchTimeoutSeconds: 3_000 } };
    expect(() => parseConfig(doc)).toThrow(/lifecycle\.launchTimeoutSeconds/);
  });
});

describe('growth settings', () => {
  const withBackend = (extra: Record<string, unknown>) => ({
    ...minimal,
    backends: [{ ...minimal.backends[0], ...extra }],
  });

  it('leaves growth off by default (no maxSlots, no options)', () => {
    const backend = parseConfig(minimal).backends[0];
    expect(backend?.maxSlots).toBeUndefined();
    expect(backend?.dynamicServerOptions).toBeUndefined();
  });

  it('parses maxSlots and the dynamic server options into validated keywords', () => {
    const backend = parseConfig(withBackend({ maxSlots: 12, dynamicServerOptions: { inter: 500, check: true } }))
      .backends[0];
    expect(backend?.maxSlots).toBe(12);
    expect(backend?.dynamicServerOptions).toEqual({ check: true, inter: 500 });
    expect(Object.keys(backend?.dynamicServerOptions ?? {})).toEqual(['check', 'inter']);
    expect(Object.isFrozen(backend?.dynamicServerOptions)).toBe(true);
    // A parsed document serialised again (the CLI and the local stack pass it on as CONFIG_JSON) parses the same.
    const again = parseConfig(JSON.stringify(parseConfig(withBackend({ dynamicServerOptions: { check: true } }))));
    expect(again.backends[0]?.dynamicServerOptions).toEqual({ check: true });
  });

  it.each([
    ['maxSlots 0', { maxSlots: 0 }, /backends\.0\.maxSlots/],
    ['maxSlots past what roundrobin takes', { maxSlots: 4096 }, /backends\.0\.maxSlots/],
    [
      'an unknown server keyword',
      { dynamicServerOptions: { cookie: 'a' } },
      /backends\.0\.dynamicServerOptions: .*cookie/,
    ],
    ['a bad keyword value', { dynamicServerOptions: { rise: 0 } }, /backends\.0\.dynamicServerOptions\.rise: /],
    ['ssl without verify', { dynamicServerOptions: { ssl: true } }, /dynamicServerOptions\.verify: .*explicit verify/],
  ])('refuses %s with the path and the reason', (_name, extra, message) => {
    expect(() => parseConfig(withBackend(extra))).toThrow(ConfigError);
    expect(() => parseConfig(withBackend(extra))).toThrow(message);
  });
});
