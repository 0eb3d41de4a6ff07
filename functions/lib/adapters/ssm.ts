// Outbound adapter: SSM parameters (config document, webhook secret) for callers outside middy (CLI, local stack).
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ConfigError } from '../errors.js';

/** Reads one parameter, decrypted. Handlers use @middy/ssm (cached) instead; this serves the operator CLI. */
export async function readParameter(name: string, client: SSMClient = new SSMClient({})): Promise<string> {
  const out = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
  const value = out.Parameter?.Value;
  if (value === undefined) throw new ConfigError(`SSM parameter ${name} has no value`);
  return value;
}
