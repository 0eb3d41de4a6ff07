// Transport limits against hostile or odd loopback peers: the per-reply byte cap, delimiters split over chunks.

import { afterEach, describe, expect, it } from 'vitest';
import { getWeight, setState, showStat } from '../../../functions/lib/domain/commands.js';
import { ReplyTooLargeError } from '../../../functions/lib/errors.js';
import { createEndpointClient } from '../../../functions/lib/haproxy/client.js';
import { renderCommand } from '../../../functions/lib/haproxy/commands.js';
import { DEFAULT_MAX_REPLY_BYTES, sendBatch } from '../../../functions/lib/haproxy/transport.js';
import { type FakeCli, fakeCli as startFakeCli, streamEndlessly, writeChunks } from '../../support/fake-cli.js';

const MIB = 1024 * 1024;
const fakes: FakeCli[] = [];

afterEach(async () => {
  for (const fake of fakes.splice(0)) await fake.close();
});

async function fakeCli(...args: Parameters<typeof startFakeCli>): Promise<FakeCli> {
  const fake = await startFakeCli(...args);
  fakes.push(fake);
  return fake;
}

describe('the per-reply byte cap', () => {
  it('defaults to 4 MiB', () => {
    expect(DEFAULT_MAX_REPLY_BYTES).toBe(4 * MIB);
  });

  it('cuts off a peer that streams without end: ReplyTooLargeError long before the deadline, memory bounded', async () => {
    let wrote: Promise<number> = Promise.resolve(0);
    // 64 KiB of CSV-looking bytes with no prompt in them, forever (bounded at 2 GiB so the test stops by itself).
    const chunk = Buffer.from('be,web1,0,0,0,0,,0,0,0,\n'.repeat(2731));
    const fake = await fakeCli(2, (socket) => {
      wrote = streamEndlessly(socket, chunk, 2048 * MIB);
    });
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const options = { connectTimeoutMs: 500, deadlineMs: 20_000, maxReplyBytes: 8 * MIB };
    const error = await sendBatch('h1', fake.endpoint, [renderCommand(showStat('be'))], options).catch(
      (e: unknown) => e,
    );
    const rssGrowth = process.memoryUsage().rss - rssBefore;

    expect(error).toBeInstanceOf(ReplyTooLargeError);
    expect(error).toMatchObject({ code: 'REPLY_TOO_LARGE', host: 'h1', limit: 8 * MIB });
    expect((error as Error).message).toBe(
      'h1: a reply grew past the 8388608-byte cap after 0 of 1 replies; connection dropped',
    );
    // The client dropped the connection: the peer's endless writes stopped at about the cap.
    const written = await wrote;
    expect(written).toBeGreaterThan(8 * MIB);
    expect(written).toBeLessThan(64 * MIB);
    // Without the cap this grows until the deadline (hundreds of MiB in a few seconds on loopback).
    expect(rssGrowth).toBeLessThan(96 * MIB);
  });

  it('counts the prompt reply too: junk before the first prompt hits the cap, not the deadline', async () => {
    const fake = await fakeCli(2, (socket) => {
      void streamEndlessly(socket, Buffer.alloc(16 * 1024, 'x'), 64 * MIB);
    });
    // streamEndlessly starts with a prompt; a peer that never sends one is the same case one reply earlier.
    const error = await sendBatch('h1', fake.endpoint, [renderCommand(getWeight('be', 'web1'))], {
      connectTimeoutMs: 500,
      deadlineMs: 20_000,
      maxReplyBytes: 1 * MIB,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReplyTooLargeError);
  });

  it('accepts a reply of exactly the cap and refuses one byte more', async () => {
    const cap = 256 * 1024;
    const at = await fakeCli(2, (socket) =>
      writeChunks(socket, ['\n> ', 'a'.repeat(cap - 1000), `${'b'.repeat(1000)}\n> `]),
    );
    const exact = await sendBatch('h1', at.endpoint, [renderCommand(getWeight('be', 'web1'))], {
      connectTimeoutMs: 500,
      deadlineMs: 5_000,
      maxReplyBytes: cap,
    });
    expect(exact[0]?.length).toBe(cap);
    const over = await fakeCli(2, (socket) => writeChunks(socket, ['\n> ', 'a'.repeat(cap), 'b\n> ']));
    const error = await sendBatch('h1', over.endpoint, [renderCommand(getWeight('be', 'web1'))], {
      connectTimeoutMs: 500,
      deadlineMs: 5_000,
      maxReplyBytes: cap,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReplyTooLargeError);
  });

  it('frames a 3 MiB reply sent in 4 KiB chunks intact under the default cap', async () => {
    const row = 'be,web1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,1,0,,1,2,1,,0,,2,0,,0,L7OK,200,0,\n';
    const body = row.repeat(Math.ceil((3 * MIB) / row.length));
    const wire = Buffer.from(`\n> ${body}\n> `);
    const chunks = Array.from({ length: Math.ceil(wire.length / 4096) }, (_, i) =>
      wire.subarray(i * 4096, (i + 1) * 4096),
    );
    const fake = await fakeCli(2, (socket) => {
      for (const chunk of chunks) socket.write(chunk);
    });
    const [reply] = await sendBatch('h1', fake.endpoint, [renderCommand(showStat('be'))], {
      connectTimeoutMs: 500,
      deadlineMs: 20_000,
    });
    expect(reply?.length).toBe(body.length);
    expect(reply).toBe(body);
  });
});

describe('framing across chunk boundaries', () => {
  it('finds a prompt whose three bytes arrive in three chunks', async () => {
    const fake = await fakeCli(3, (socket) =>
      writeChunks(socket, ['\n', '>', ' ', 'No such server.\n', '\n', '>', ' \n> ']),
    );
    const replies = await sendBatch(
      'h1',
      fake.endpoint,
      [setState('be', 'web9', 'ready'), getWeight('be', 'web1')].map(renderCommand),
      {
        connectTimeoutMs: 500,
        deadlineMs: 2_000,
      },
    );
    expect(replies).toEqual(['No such server.\n', '']);
  });

  it('decodes a UTF-8 character whose bytes arrive in two chunks', async () => {
    const text = Buffer.from('check reply: Überlastet\n');
    const split = text.indexOf(0xc3) + 1; // between the two bytes of Ü
    const fake = await fakeCli(2, (socket) =>
      writeChunks(socket, ['\n> ', text.subarray(0, split), text.subarray(split), '\n> ']),
    );
    const [reply] = await sendBatch('h1', fake.endpoint, [renderCommand(getWeight('be', 'web1'))], {
      connectTimeoutMs: 500,
      deadlineMs: 2_000,
    });
    expect(reply).toBe('check reply: Überlastet\n');
  });

  it('frames many replies that arrive in one chunk', async () => {
    const commands = Array.from({ length: 500 }, (_, i) => renderCommand(setState('be', `web${i + 1}`, 'ready')));
    const fake = await fakeCli(501, (socket) => void socket.write(`\n> ${'\n> '.repeat(499)}No such server.\n\n> `));
    const replies = await sendBatch('h1', fake.endpoint, commands, { connectTimeoutMs: 500, deadlineMs: 5_000 });
    expect(replies).toHaveLength(500);
    expect(replies.slice(0, 499).every((r) => r === '')).toBe(true);
    expect(replies[499]).toBe('No such server.\n');
  });
});

describe('the cap through the host client', () => {
  it('reports a reply over the client’s cap as REPLY_TOO_LARGE for that host, without throwing', async () => {
    const fake = await fakeCli(2, (socket) => {
      void streamEndlessly(socket, Buffer.alloc(16 * 1024, 'x'), 64 * MIB);
    });
    const client = createEndpointClient(
      'hap-a',
      fake.endpoint,
      { connectMs: 500, commandMs: 10_000 },
      { maxReplyBytes: MIB },
    );
    const result = await client.run([showStat('be')]);
    expect(result).toMatchObject({ host: 'hap-a', ok: false, replies: [], error: { code: 'REPLY_TOO_LARGE' } });
    expect(result.error?.message).toContain('1048576-byte cap');
  });
});
