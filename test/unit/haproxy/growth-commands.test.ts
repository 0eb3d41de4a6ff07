// Growth commands: add server / del server / wait srv-removable built from validated values, rendered exactly, and
// their replies classified the same on every captured version (test/fixtures/haproxy/<version>/replies-dynamic.txt).
import { describe, expect, it } from 'vitest';
import {
  addServer,
  delServer,
  isWrite,
  showCliLevel,
  showStartupLogs,
  waitRemovable,
} from '../../../functions/lib/domain/commands.js';
import { validServerOptions } from '../../../functions/lib/domain/server-options.js';
import { InvalidArgumentError } from '../../../functions/lib/errors.js';
import { classifyReply } from '../../../functions/lib/haproxy/classify.js';
import { renderCommand } from '../../../functions/lib/haproxy/commands.js';
import { CAPTURED_VERSIONS, capturedReply, isPre30 } from '../../support/version-fixtures.js';

const any = <T>(value: unknown): T => value as T;
const checked = validServerOptions({ check: true, inter: 2000, rise: 1 });

describe('growth command builders', () => {
  it.each([
    [
      'add-server IPv4 with options',
      () => addServer('be', 'web5', '10.0.0.5', 8080, 3, checked),
      'add server be/web5 10.0.0.5:8080 weight 3 check inter 2000ms rise 1',
    ],
    [
      'add-server IPv6 without options',
      () => addServer('be', 'web5', '2001:db8::1', 80, 0, {}),
      'add server be/web5 [2001:db8::1]:80 weight 0',
    ],
    ['del-server', () => delServer('be', 'web5'), 'del server be/web5'],
    ['wait-removable', () => waitRemovable('be', 'web5', 1000), 'wait 1000ms srv-removable be/web5'],
    ['show-cli-level', () => showCliLevel(), 'show cli level'],
    ['show-startup-logs', () => showStartupLogs(), 'show startup-logs'],
  ])('renders %s', (_name, build, text) => {
    expect(renderCommand(build())).toBe(text);
  });

  it('counts add, del and wait as writes (a dry run sends none of them) and the two reads as reads', () => {
    expect(isWrite(addServer('be', 'web5', '10.0.0.5', 80, 1, {}))).toBe(true);
    expect(isWrite(delServer('be', 'web5'))).toBe(true);
    expect(isWrite(waitRemovable('be', 'web5', 10))).toBe(true);
    expect(isWrite(showCliLevel())).toBe(false);
    expect(isWrite(showStartupLogs())).toBe(false);
  });

  it.each<[string, () => unknown]>([
    ['a hostname address', () => addServer('be', 'web5', any('myhost.invalid'), 80, 1, {})],
    ['an injected address', () => addServer('be', 'web5', any('10.0.0.5:80 check;del server be/web1'), 80, 1, {})],
    ['port 0', () => addServer('be', 'web5', '10.0.0.5', 0, 1, {})],
    ['weight 300', () => addServer('be', 'web5', '10.0.0.5', 80, 300, {})],
    ['a forged option', () => addServer('be', 'web5', '10.0.0.5', 80, 1, any({ cookie: 'x' }))],
    ['a forged option value', () => addServer('be', 'web5', '10.0.0.5', 80, 1, any({ inter: '1s; quit' }))],
    ['a server name with a space', () => delServer('be', 'web 5')],
    ['a wait of 0 ms', () => waitRemovable('be', 'web5', 0)],
    ['a wait of a minute', () => waitRemovable('be', 'web5', 60_000)],
  ])('refuses %s', (_name, build) => {
    expect(build).toThrow(InvalidArgumentError);
  });
});

describe.each(CAPTURED_VERSIONS)('HAProxy %s growth replies', (version) => {
  const reply = (label: string) => capturedReply(version, 'replies-dynamic.txt', label);
  const add = addServer('be', 'dyn1', '127.0.0.1', 9, 3, {});
  const del = delServer('be', 'dyn1');

  it('classifies New server registered. as the add server success', () => {
    expect(classifyReply(add, reply('add server be/dyn1 127.0.0.1:9 weight 3'))).toMatchObject({ ok: true });
    expect(classifyReply(add, reply('add server be/dyn2 127.0.0.1:9 check'))).toMatchObject({ ok: true });
  });

  it('classifies the init-state answer by what the version did with it', () => {
    const initState = reply('add server be/dyn3 127.0.0.1:9 init-state down');
    expect(classifyReply(add, initState).ok).toBe(!isPre30(version) && version !== '3.0.0');
  });

  it('classifies Server deleted. as the del server success, whichever framing the version used', () => {
    expect(classifyReply(del, reply('del server be/dyn1 (2)'))).toMatchObject({ ok: true, reply: 'Server deleted.' });
    expect(classifyReply(del, reply('del server be/web4'))).toMatchObject({ ok: true });
  });

  it('classifies the refusal of a server not in MAINT as an error with its text', () => {
    expect(classifyReply(del, reply('del server be/dyn1'))).toEqual({
      command: 'del server be/dyn1',
      ok: false,
      reply: 'Only servers in maintenance mode can be deleted.',
    });
  });

  it('classifies an empty reply (what enable health answers) as a failed add server', () => {
    expect(classifyReply(add, reply('enable health be/dyn2')).ok).toBe(false);
  });
});

describe('refusals known from the reference and from real hosts (not in the captures)', () => {
  it.each([
    [
      'add',
      addServer('be_static', 'w5', '127.0.0.1', 9, 1, {}),
      'Backend must use a dynamic load balancing to support dynamic servers.',
    ],
    [
      'add on 3.4',
      addServer('be_static', 'w5', '127.0.0.1', 9, 1, {}),
      "Backend does not support dynamic servers : backend 'be_static' uses a non dynamic load balancing method.",
    ],
    [
      'add twice',
      addServer('be', 'w5', '127.0.0.1', 9, 1, {}),
      'Already exists a server with the same name in backend.',
    ],
    ['del with a connection', delServer('be', 'w5'), 'Server still has connections attached to it, cannot remove it.'],
    [
      'wait that expired',
      waitRemovable('be', 'w5', 100),
      'Wait delay expired. Server still has connections attached to it, cannot remove it.',
    ],
    ['wait not in maint', waitRemovable('be', 'w5', 100), 'Failed. Only servers in maintenance mode can be deleted.'],
  ])('classifies the %s refusal as an error', (_name, command, text) => {
    expect(classifyReply(command, `${text}\n`)).toMatchObject({ ok: false, reply: text });
  });

  it('classifies Done. as the wait success and admin as the cli level', () => {
    expect(classifyReply(waitRemovable('be', 'w5', 100), 'Done.\n').ok).toBe(true);
    expect(classifyReply(showCliLevel(), 'admin\n')).toMatchObject({ ok: true, reply: 'admin' });
    expect(classifyReply(showCliLevel(), 'operator\n').ok).toBe(true);
    expect(classifyReply(showStartupLogs(), '').ok).toBe(true);
  });
});
