// Local stack: the config document the handlers load from the SSM stand-in — two loopback hosts, one backend `web`.
import { type ConfigDocument, parseConfig } from '../../functions/lib/config.js';
import { BACKEND } from './hosts.js';

/** What varies between stacks: where the hosts' stats sockets are, the instances' port, drain and cross-check. */
export interface LocalConfigInput {
  readonly hosts: readonly { readonly name: string; readonly statsPort: number }[];
  readonly instancePort: number;
  readonly asgName: string;
  readonly drainSeconds: number;
  readonly asgCrossCheck: boolean;
}

/** Builds and validates (with the functions' own schema) the document stored under CONFIG_PARAMETER. */
export function localConfig(input: LocalConfigInput): Readonly<ConfigDocument> {
  return parseConfig({
    hosts: input.hosts.map((h) => ({ name: h.name, host: '127.0.0.1', port: h.statsPort })),
    // The sample instances listen on loopback; a deployment never sets this.
    allowLoopback: true,
    backends: [
      {
        name: BACKEND.name,
        slotPrefix: BACKEND.slotPrefix,
        port: input.instancePort,
        autoScalingGroups: [input.asgName],
        weight: 1,
        drainSeconds: input.drainSeconds,
        healthGate: { enabled: true, timeoutSeconds: 30 },
      },
    ],
    timeouts: { connectMs: 1_000, commandMs: 5_000 },
    lifecycle: { onNoSlot: 'ABANDON', heartbeatSeconds: 60 },
    quorum: 'all',
    reconcile: { asgCrossCheck: input.asgCrossCheck },
  });
}
