// The fleet's observe asks every host for `show info` too: the version rides in each observation, a pre-2.6 host fails.

import { describe, expect, it } from 'vitest';
import type { Command } from '../../../functions/lib/domain/commands.js';
import type { HostClient } from '../../../functions/lib/haproxy/client.js';
import { renderCommand } from '../../../functions/lib/haproxy/commands.js';
import { fleetOf } from '../../../functions/lib/haproxy/fleet.js';
import { CAPTURED_VERSIONS, type CapturedVersion, capturedReply } from '../../support/version-fixtures.js';

/** A host that answers with one version's captured replies (show info, show stat, show servers state of `be`). */
function capturedHost(
  name: string,
  version: CapturedVersion,
  info?: (text: string) => string,
): HostClient & {
  sent: string[][];
} {
  const showInfo = capturedReply(version, 'replies-extended.txt', 'show info');
  const byKind: Record<string, string> = {
    'show-info': info ? info(showInfo) : showInfo,
    'show-stat': capturedReply(version, 'replies.txt', 'show stat be 4 -1'),
    'show-servers-state': capturedReply(version, 'replies.txt', 'show servers state be'),
  };
  const sent: string[][] = [];
  const exchange = async (commands: readonly Command[]) => {
    sent.push(commands.map(renderCommand));
    return commands.map((c) => byKind[c.kind] ?? '');
  };
  return { name, sent, exchange, run: async () => ({ host: name, ok: true, replies: [] }) };
}

describe('observe and the HAProxy version', () => {
  it.each(CAPTURED_VERSIONS)('carries the Version of show info in the observation of a %s host', async (version) => {
    const host = capturedHost('hap-a', version);
    const [observation] = await fleetOf([host]).observe(['be']);
    expect(observation).toMatchObject({ host: 'hap-a', ok: true });
    if (!observation?.ok) throw new Error('not ok');
    expect(observation.version?.startsWith(`${version}-`)).toBe(true);
    expect(observation.backends.get('be')?.map((s) => s.server)).toEqual(['web1', 'web2', 'web3', 'web4']);
    // One batch on one connection: show info first, then the backend's two reads.
    expect(host.sent).toEqual([['show info', 'show stat be 4 -1', 'show servers state be']]);
  });

  it('fails only the observation of a host older than 2.6, naming the host and its version', async () => {
    const old = capturedHost('hap-old', '2.6.12', (text) =>
      text.replace(/^Version: .*$/m, 'Version: 2.4.22-0ubuntu0.22.04.3'),
    );
    const current = capturedHost('hap-new', '3.2.0');
    const [a, b] = await fleetOf([old, current]).observe(['be']);
    expect(a).toEqual({
      host: 'hap-old',
      ok: false,
      error: {
        code: 'UNSUPPORTED_VERSION',
        message: 'hap-old: HAProxy 2.4.22-0ubuntu0.22.04.3 is older than 2.6, the oldest version slot-sync supports',
      },
    });
    expect(b).toMatchObject({ host: 'hap-new', ok: true, version: expect.stringMatching(/^3\.2\.0-/) });
  });

  it('fails the observation with a parse error when show info has no usable Version', async () => {
    const host = capturedHost('hap-a', '3.0.0', (text) => text.replace(/^Version: .*$/m, 'Version: unknown'));
    const [observation] = await fleetOf([host]).observe(['be']);
    expect(observation).toMatchObject({ host: 'hap-a', ok: false, error: { code: 'PARSE_ERROR' } });
    expect(observation?.ok === false && observation.error.message).toMatch(/Version is not MAJOR\.MINOR/);
  });

  it('sends nothing at all when there is no backend to observe', async () => {
    const host = capturedHost('hap-a', '3.2.0');
    expect(await fleetOf([host]).observe([])).toEqual([{ host: 'hap-a', ok: true, backends: new Map() }]);
    expect(host.sent).toEqual([]);
  });
});
