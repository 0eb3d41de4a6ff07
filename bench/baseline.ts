// The baseline every benchmark compares against: the same commands, host after host, one connection per command.

import { oneShot } from '../bin/harness/haproxy.js';
import type { Command } from '../functions/lib/domain/commands.js';
import { classifyReply } from '../functions/lib/haproxy/classify.js';
import { renderCommand } from '../functions/lib/haproxy/commands.js';

/** What the baseline took and how many replies were not a success. */
export interface BaselineRun {
  readonly ms: number;
  readonly commands: number;
  readonly badReplies: number;
}

/**
 * Sends each host's commands in order, host after host, each over a fresh non-interactive TCP connection whose reply
 * is read until HAProxy closes it (the cron-script way). Every reply is classified like the real client does.
 */
export async function oneConnectionPerCommand(
  statsPorts: ReadonlyMap<string, number>,
  perHost: ReadonlyMap<string, readonly Command[]>,
): Promise<BaselineRun> {
  let commands = 0;
  let badReplies = 0;
  const start = performance.now();
  for (const [host, list] of perHost) {
    const port = statsPorts.get(host);
    if (port === undefined) throw new Error(`baseline: no stats port for host ${host}`);
    for (const command of list) {
      commands++;
      const reply = await oneShot(port, renderCommand(command), 5_000);
      if (!classifyReply(command, reply).ok) badReplies++;
    }
  }
  return { ms: performance.now() - start, commands, badReplies };
}
