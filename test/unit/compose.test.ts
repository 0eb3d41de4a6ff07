// The composition root's SDK clients: no per-call log step (its input/output filter costs CPU on every call).
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/lib/config.js';
import { createDeps, SDK_CALL_LOG } from '../../functions/shared/compose.js';

const steps = (c: { middlewareStack: { identify(): string[] } }) => c.middlewareStack.identify().join('\n');

describe('createDeps', () => {
  it("takes the SDK's call log step out of the clients it is given, and only that step", () => {
    const region = 'us-east-1';
    const clients = {
      dynamodb: new DynamoDBClient({ region }),
      autoScaling: new AutoScalingClient({ region }),
      ec2: new EC2Client({ region }),
    };
    const before = Object.values(clients).map(steps);
    // The step is there under this name to begin with: were the SDK to rename it, removing it would do nothing.
    for (const s of before) expect(s).toContain(`${SDK_CALL_LOG} - initialize`);
    const config = parseConfig({
      hosts: [{ name: 'hap1', host: '127.0.0.1', port: 9999 }],
      backends: [{ name: 'web', slotPrefix: 'web', port: 8080 }],
      allowLoopback: true,
    });
    createDeps({ config, env: { SLOT_TABLE: 'slots' }, clients });
    Object.values(clients).forEach((c, i) => {
      expect(steps(c)).not.toContain(SDK_CALL_LOG);
      expect(steps(c)).toBe(
        (before[i] as string)
          .split('\n')
          .filter((line) => !line.startsWith(SDK_CALL_LOG))
          .join('\n'),
      );
    });
  });
});
