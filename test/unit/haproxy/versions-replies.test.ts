// Reply classification and prompt framing over every captured version (2.6.12 … 3.4.0).

import { afterEach, describe, expect, it } from 'vitest';
import {
  enableHealth,
  getWeight,
  setAddr,
  setState,
  setWeight,
  showInfo,
  showServersState,
  showStat,
} from '../../../functions/lib/domain/commands.js';
import { classifyReply } from '../../../functions/lib/haproxy/classify.js';
import { renderCommand } from '../../../functions/lib/haproxy/commands.js';
import { sendBatch } from '../../../functions/lib/haproxy/transport.js';
import { type FakeCli, fakeCli, writeChunks } from '../../support/fake-cli.js';
import {
  CAPTURED_VERSIONS,
  capturedReply,
  isPre30,
  SESSIONS,
  sessionCommands,
  sessionReplies,
  versionFile,
} from '../../support/version-fixtures.js';

const addr = setAddr('be', 'web1', '127.0.0.2', 8080);
const fakes: FakeCli[] = [];

afterEach(async () => {
  for (const fake of fakes.splice(0)) await fake.close();
});

/** The `set server … addr` replies to an unchanged address (capture section I of replies-framing.txt). */
function unchangedAddrReplies(version: (typeof CAPTURED_VERSIONS)[number]): string[] {
  return [...versionFile(version, 'replies-framing.txt').matchAll(/^> (nothing changed|no need to change.*)$/gm)].map(
    (m) => m[1] ?? '',
  );
}

describe.each(CAPTURED_VERSIONS)('HAProxy %s replies', (version) => {
  it('classifies every set server addr success text as a success', () => {
    const changed = [
      capturedReply(version, 'replies.txt', 'set server be/web1 addr 127.0.0.2 port 8080'),
      capturedReply(version, 'replies-extended.txt', 'set server be/web2 addr 127.0.0.3'),
      capturedReply(version, 'replies-extended.txt', 'set server be/web2 addr 127.0.0.3 port 8081'),
      capturedReply(version, 'replies-extended.txt', 'set server be/web1 addr 127.0.0.4 port 8082'),
    ];
    for (const reply of changed) {
      expect(reply).toMatch(/ by 'stats socket command'\n$/);
      expect(classifyReply(addr, reply)).toMatchObject({ ok: true, reply: reply.trim() });
    }
  });

  it(`classifies the no-op address change (${isPre30(version) ? "'no need to change …'" : "'nothing changed'"}) as a success`, () => {
    const unchanged = unchangedAddrReplies(version);
    expect(unchanged).toHaveLength(2);
    for (const reply of unchanged) {
      if (isPre30(version)) expect(reply).toMatch(/^no need to change the addr/);
      else expect(reply).toBe('nothing changed');
      expect(classifyReply(addr, reply).ok).toBe(true);
    }
  });

  it('classifies the Unknown command text as an error for every command kind', () => {
    const unknown = capturedReply(version, 'replies-extended.txt', 'bogus command');
    expect(unknown).toMatch(
      version === '2.6.12' ? /^Unknown command, but maybe/ : /^Unknown command: 'bogus', but maybe/,
    );
    const kinds = [
      addr,
      setState('be', 'web1', 'ready'),
      setWeight('be', 'web1', 5),
      enableHealth('be', 'web1'),
      getWeight('be', 'web1'),
      showStat('be'),
      showServersState('be'),
      showInfo(),
    ];
    for (const command of kinds) expect(classifyReply(command, unknown)).toMatchObject({ ok: false });
  });

  it('classifies the empty successes and the error texts of the session the same way as on 2.6', () => {
    const ready = setState('be', 'web1', 'ready');
    expect(classifyReply(ready, capturedReply(version, 'replies.txt', 'set server be/web1 state ready')).ok).toBe(true);
    expect(classifyReply(ready, capturedReply(version, 'replies.txt', 'set server be/web9 state ready'))).toEqual({
      command: renderCommand(ready),
      ok: false,
      reply: 'No such server.',
    });
    const tooHeavy = capturedReply(version, 'replies-extended.txt', 'set server be/web2 weight 300');
    expect(classifyReply(setWeight('be', 'web2', 5), tooHeavy).ok).toBe(false);
    const noCheck = capturedReply(version, 'replies-extended.txt', 'enable health be/web2');
    expect(classifyReply(enableHealth('be', 'web2'), noCheck).ok).toBe(false);
  });

  it.each(SESSIONS)(
    'frames the %s byte stream into one reply per command, whatever each reply ends with',
    async (session) => {
      const wire = versionFile(version, session);
      // The last label (`<EOF>`, or `quit`) is what follows the final prompt: no reply the transport waits for.
      const labels = sessionCommands(session).slice(0, -1);
      // One (any) command per captured reply: the transport only counts prompts.
      const commands = labels.map(() => showInfo());
      const fake = await fakeCli(commands.length + 1, (socket) => {
        // In 1 KiB pieces, so prompts also straddle chunk boundaries.
        const bytes = Buffer.from(wire);
        const pieces = Array.from({ length: Math.ceil(bytes.length / 1024) }, (_, i) =>
          bytes.subarray(i * 1024, (i + 1) * 1024),
        );
        return writeChunks(socket, pieces);
      });
      fakes.push(fake);
      const replies = await sendBatch('h1', fake.endpoint, commands.map(renderCommand), {
        connectTimeoutMs: 500,
        deadlineMs: 5_000,
      });
      const expected = sessionReplies(version, session);
      expect(replies).toEqual(labels.map((label) => expected.get(label)));
    },
  );

  it('ends del server replies with one newline before the prompt from 3.0 on, with none on 2.6/2.8 (both frame)', () => {
    const deleted = capturedReply(version, 'replies-dynamic.txt', 'del server be/dyn1 (2)');
    expect(deleted).toBe(isPre30(version) ? 'Server deleted.' : 'Server deleted.\n');
  });
});
