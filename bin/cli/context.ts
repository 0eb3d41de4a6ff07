// Operator CLI: the same configuration contract as the Lambdas (DESIGN §6), turned into ports for one command.
import { readFile } from 'node:fs/promises';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { readParameter } from '../../functions/lib/adapters/ssm.js';
import { type BackendConfig, type ConfigDocument, parseConfig, parseEnv } from '../../functions/lib/config.js';
import { ConfigError } from '../../functions/lib/errors.js';
import { createEndpointClient } from '../../functions/lib/haproxy/client.js';
import { createFleet, fleetOf } from '../../functions/lib/haproxy/fleet.js';
import type { ServiceDeps, ServiceLog } from '../../functions/lib/services/deps.js';
import { createDeps } from '../../functions/shared/compose.js';
import { UsageError } from './usage.js';

/** What a command runs against: the parsed config, the ports, and a way to let the process exit. */
export interface CliContext {
  readonly config: Readonly<ConfigDocument>;
  readonly tableName: string;
  readonly deps: ServiceDeps;
  /** Destroys the SDK clients (their keep-alive sockets would otherwise hold the process open). */
  close(): void;
}

/** Where the config comes from and which hosts to talk to. */
export interface ContextOptions {
  readonly configFile?: string;
  /** One local unix CLI socket instead of the config's hosts (the CLI running on a HAProxy host). */
  readonly socket?: string;
}

/** Host name the `--socket` endpoint is reported under. */
export const LOCAL_HOST = 'local';

/**
 * Reads the environment and the config document. Precedence: `--config FILE`, then `CONFIG_JSON`, then
 * `CONFIG_PARAMETER` (SSM, decrypted). AWS endpoints come from the SDK's own `AWS_ENDPOINT_URL_<SERVICE>` variables.
 */
export async function loadContext(
  options: ContextOptions,
  env: Record<string, string | undefined>,
  log: ServiceLog,
): Promise<CliContext> {
  const fileText = options.configFile === undefined ? undefined : await readConfigFile(options.configFile);
  // A file stands in for CONFIG_JSON, so the env schema's "one of the two" rule still holds.
  const parsedEnv = parseEnv(
    fileText === undefined ? env : { ...env, CONFIG_JSON: fileText, CONFIG_PARAMETER: undefined },
  );
  const ssm = new SSMClient({});
  const dynamo = new DynamoDBClient({});
  const autoScaling = new AutoScalingClient({});
  const ec2 = new EC2Client({});
  const close = () => {
    ssm.destroy();
    dynamo.destroy();
    autoScaling.destroy();
    ec2.destroy();
  };
  try {
    const text = parsedEnv.CONFIG_JSON ?? (await readParameter(String(parsedEnv.CONFIG_PARAMETER), ssm));
    const config = parseConfig(text);
    const fleet =
      options.socket === undefined
        ? createFleet({ hosts: config.hosts, timeouts: config.timeouts })
        : fleetOf([createEndpointClient(LOCAL_HOST, { kind: 'unix', path: options.socket }, config.timeouts)]);
    // The one composition root; a drain that reconcile finishes completes its action, as the scheduled Lambda would.
    const deps = createDeps({ config, env: parsedEnv, clients: { dynamodb: dynamo, autoScaling, ec2 }, fleet, log });
    return { config, tableName: parsedEnv.SLOT_TABLE, deps, close };
  } catch (error) {
    close();
    throw error;
  }
}

/** The configured backends, or only `name`; an unknown name is a usage error that lists the known ones. */
export function selectBackends(config: Readonly<ConfigDocument>, name: string | undefined): readonly BackendConfig[] {
  if (name === undefined) return config.backends;
  const found = config.backends.find((b) => b.name === name);
  if (!found) {
    const known = config.backends.map((b) => b.name).join(', ');
    throw new UsageError(`unknown backend '${name}': the config has ${known}`);
  }
  return [found];
}

async function readConfigFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(`cannot read --config ${path}: ${(cause as NodeJS.ErrnoException).code ?? cause}`, { cause });
  }
}
