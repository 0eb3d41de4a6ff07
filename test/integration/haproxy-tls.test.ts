// TLS with a client certificate, through a `mode tcp` TLS listener in front of HAProxy's unix CLI socket (reference §8.2).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startHaproxy, stopAll } from '../../bin/harness/haproxy.js';
import type { HostConfig } from '../../functions/lib/config.js';
import { getWeight, setWeight } from '../../functions/lib/domain/commands.js';
import { createHostClient } from '../../functions/lib/haproxy/client.js';
import { makeTestPki, type TestPki } from '../support/certs.js';

const TIMEOUTS = { connectMs: 1_000, commandMs: 3_000 };
let pkiDir: string;
let pki: TestPki;
let host: HaproxyHandle;

beforeAll(async () => {
  pkiDir = mkdtempSync(join(tmpdir(), 'pki-'));
  pki = makeTestPki(pkiDir);
  host = await startHaproxy({
    backends: [{ name: 'be', slotPrefix: 'web', slots: 2 }],
    tlsCli: { crtPath: pki.serverPemPath, caPath: pki.caPath },
  });
});

afterAll(async () => {
  await stopAll([host]);
  rmSync(pkiDir, { recursive: true, force: true });
});

function tlsHost(cert: string, key: string): HostConfig {
  return { name: 'tls-host', host: '127.0.0.1', port: host.tlsPort, tls: { ca: pki.ca, cert, key } };
}

describe('TLS client certificate in front of the CLI', () => {
  it('runs a pipelined batch through the TLS proxy with a trusted client certificate', async () => {
    const client = createHostClient(tlsHost(pki.clientCert, pki.clientKey), TIMEOUTS);
    const result = await client.run([setWeight('be', 'web1', 12), getWeight('be', 'web1')]);
    expect(result).toMatchObject({ host: 'tls-host', ok: true });
    expect(result.replies.map((r) => r.reply)).toEqual(['', '12 (initial 1)']);
  });

  it('fails clearly when the client certificate comes from an unknown CA', async () => {
    const client = createHostClient(tlsHost(pki.rogueCert, pki.rogueKey), TIMEOUTS);
    const result = await client.run([getWeight('be', 'web1')]);
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('HOST_UNREACHABLE');
    expect(result.error?.message).toMatch(/^tls-host: TLS session rejected by the peer .*(unknown ca|UNKNOWN_CA)/i);
  });

  it('fails clearly when the client presents no certificate', async () => {
    const client = createHostClient(tlsHost('', ''), TIMEOUTS);
    const result = await client.run([getWeight('be', 'web1')]);
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('HOST_UNREACHABLE');
    expect(result.error?.message).toMatch(/^tls-host: TLS session rejected by the peer .*certificate required/i);
  });

  it('refuses to talk to a proxy whose certificate the configured CA did not sign', async () => {
    const wrongCa: HostConfig = {
      ...tlsHost(pki.clientCert, pki.clientKey),
      tls: { ca: pki.rogueCert, cert: pki.clientCert, key: pki.clientKey },
    };
    const result = await createHostClient(wrongCa, TIMEOUTS).run([getWeight('be', 'web1')]);
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('HOST_UNREACHABLE');
    expect(result.error?.message).toMatch(/^tls-host: cannot connect to tls:127\.0\.0\.1:\d+ \(1 attempt\): /);
  });

  it('gets a protocol error, not a hang, when a plaintext client reaches the TLS listener', async () => {
    const plain: HostConfig = { name: 'tls-host', host: '127.0.0.1', port: host.tlsPort };
    const result = await createHostClient(plain, TIMEOUTS).run([getWeight('be', 'web1')]);
    expect(result.error).toEqual({
      code: 'PROTOCOL_ERROR',
      message: 'tls-host: peer closed the connection after 0 of 1 replies',
    });
  });
});
