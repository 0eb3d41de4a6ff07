// Transport framing against loopback fake CLI servers: chunking, early close, black hole, refused, empty batch.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../bin/harness/ports.js';
import { getWeight, setState, setWeight } from '../../../functions/lib/domain/commands.js';
import { HostTimeoutError, HostUnreachableError, ProtocolError } from '../../../functions/lib/errors.js';
import { renderCommand } from '../../../functions/lib/haproxy/commands.js';
import { type Endpoint, sendBatch } from '../../../functions/lib/haproxy/transport.js';
import { startBlackHole } from '../../support/black-hole.js';
import { type FakeCli, fakeCli as startFakeCli, writeChunks } from '../../support/fake-cli.js';
import { waitFor } from '../../support/wait.js';

const OPTIONS = { connectTimeoutMs: 500, deadlineMs: 1_500 };
const COMMANDS = [getWeight('be', 'web1'), setState('be', 'web1', 'ready'), setWeight('be', 'web1', 7)].map(
  renderCommand,
);
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function fakeCli(...args: Parameters<typeof startFakeCli>): Promise<FakeCli> {
  const fake = await startFakeCli(...args);
  cleanups.push(() => fake.close());
  return fake;
}

const WIRE = '\n> ' + '1 (initial 1)\n\n> ' + '\n> ' + '\n> ';

describe('sendBatch', () => {
  it('writes prompt and every command in one request and pairs replies 1:1 with commands', async () => {
    const fake = await fakeCli(4, (socket) => void socket.write(WIRE));
    const replies = await sendBatch('h1', fake.endpoint, COMMANDS, OPTIONS);
    expect(replies).toEqual(['1 (initial 1)\n', '', '']);
    expect(fake.requests).toEqual([
      'prompt\nget weight be/web1\nset server be/web1 state ready\nset server be/web1 weight 7\n',
    ]);
  });

  it('reassembles replies that arrive one byte at a time', async () => {
    const fake = await fakeCli(4, (socket) => writeChunks(socket, [...WIRE]));
    expect(await sendBatch('h1', fake.endpoint, COMMANDS, OPTIONS)).toEqual(['1 (initial 1)\n', '', '']);
  });

  it('finds a prompt delimiter split across two chunks at every possible position', async () => {
    const fake = await fakeCli(4, (socket) => writeChunks(socket, ['\n', '> 1 (initial 1)\n\n', '>', ' \n>', ' \n> ']));
    expect(await sendBatch('h1', fake.endpoint, COMMANDS, OPTIONS)).toEqual(['1 (initial 1)\n', '', '']);
  });

  it('keeps a reply that spans many chunks intact (multi-line show output)', async () => {
    const body = Array.from({ length: 200 }, (_, i) => `line ${i}, with > and \n`).join('');
    const fake = await fakeCli(2, (socket) =>
      writeChunks(socket, ['\n> ', body.slice(0, 999), body.slice(999), '\n> ']),
    );
    expect(await sendBatch('h1', fake.endpoint, [renderCommand(getWeight('be', 'web1'))], OPTIONS)).toEqual([body]);
  });

  it('closes the connection after the last reply instead of keeping it', async () => {
    const fake = await fakeCli(4, (socket) => void socket.write(WIRE));
    await sendBatch('h1', fake.endpoint, COMMANDS, OPTIONS);
    await waitFor(() => fake.closedByClient === 1, { timeoutMs: 2_000, what: 'the client to close the connection' });
  });

  it('works over a unix socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'transport-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const fake = await fakeCli(4, (socket) => void socket.write(WIRE), join(dir, 'cli.sock'));
    expect(await sendBatch('h1', fake.endpoint, COMMANDS, OPTIONS)).toEqual(['1 (initial 1)\n', '', '']);
  });

  it('throws ProtocolError naming how many replies arrived when the peer closes early', async () => {
    const fake = await fakeCli(4, (socket) => void socket.end('\n> 1 (initial 1)\n\n> '));
    const error = await sendBatch('h1', fake.endpoint, COMMANDS, OPTIONS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).message).toBe('h1: peer closed the connection after 1 of 3 replies');
  });

  it('throws ProtocolError when the first answer is not the prompt', async () => {
    const fake = await fakeCli(4, (socket) => void socket.write('Unknown command\n> \n> \n> \n> '));
    const error = await sendBatch('h1', fake.endpoint, COMMANDS, OPTIONS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as Error).message).toMatch(/unexpected answer to 'prompt'/);
  });

  it('throws HostTimeoutError at the deadline when a host accepts and never answers', async () => {
    const hole = await startBlackHole();
    cleanups.push(() => hole.close());
    const endpoint: Endpoint = { kind: 'tcp', host: '127.0.0.1', port: hole.port };
    const error = await sendBatch('h1', endpoint, COMMANDS, { connectTimeoutMs: 200, deadlineMs: 400 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HostTimeoutError);
    expect((error as Error).message).toBe('h1: deadline passed with 0 of 3 replies received');
    expect(hole.connections()).toBe(1);
  });

  it('says how many replies arrived when the deadline passes mid-batch', async () => {
    const fake = await fakeCli(4, (socket) => void socket.write('\n> 1 (initial 1)\n\n> \n> '));
    const error = await sendBatch('h1', fake.endpoint, COMMANDS, { connectTimeoutMs: 200, deadlineMs: 400 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HostTimeoutError);
    expect((error as Error).message).toContain('2 of 3 replies');
  });

  it('retries a refused connection exactly once, then throws HostUnreachableError', async () => {
    const port = await freePort();
    const attempts: number[] = [];
    const options = { ...OPTIONS, onConnectAttempt: (n: number) => attempts.push(n) };
    const error = await sendBatch('h1', { kind: 'tcp', host: '127.0.0.1', port }, COMMANDS, options).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HostUnreachableError);
    expect((error as Error).message).toMatch(
      new RegExp(`^h1: cannot connect to tcp:127.0.0.1:${port} \\(2 attempts\\): .*ECONNREFUSED`),
    );
    expect(attempts).toEqual([1, 2]);
  });

  it('succeeds on the retry when the first connect fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'transport-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'late.sock');
    let fake: FakeCli | undefined;
    const seen: number[] = [];
    const options = {
      ...OPTIONS,
      // The first attempt finds no socket file (ENOENT); net binds a unix path synchronously inside listen(), so
      // the server exists by the time the second attempt connects.
      onConnectAttempt: (n: number) => {
        seen.push(n);
        if (n === 2) void fakeCli(4, (socket) => void socket.write(WIRE), path).then((f) => (fake = f));
      },
    };
    expect(await sendBatch('h1', { kind: 'unix', path }, COMMANDS, options)).toEqual(['1 (initial 1)\n', '', '']);
    expect(fake?.connections).toBe(1);
    expect(seen).toEqual([1, 2]);
  });

  it('resolves an empty batch without connecting', async () => {
    const fake = await fakeCli(1, (socket) => void socket.write('\n> '));
    expect(await sendBatch('h1', fake.endpoint, [], OPTIONS)).toEqual([]);
    expect(fake.connections).toBe(0);
  });
});
