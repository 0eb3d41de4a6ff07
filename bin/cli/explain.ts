// Operator CLI: any error → one sentence that says what to do (environment, credentials, region, endpoint, table).
import { ConfigError, InvalidArgumentError, SlotSyncError, StoreUnavailableError } from '../../functions/lib/errors.js';
import { EnvironmentError } from './environment.js';
import { UsageError } from './usage.js';

/**
 * What went wrong, for exit codes: `usage` (the command line), `configuration` (environment, credentials, region,
 * names: nothing will work until it is fixed), `unreachable` (a service did not answer), `failed` (anything else).
 */
export type ErrorKind = 'usage' | 'configuration' | 'unreachable' | 'failed';

/** One error, explained: a stable code, one sentence, and its kind. */
export interface Explained {
  readonly code: string;
  readonly sentence: string;
  readonly kind: ErrorKind;
}

/** Where the failing call went; names the variables to check in the sentence. */
export interface ExplainContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The AWS service a failure not marked by the store came from (the config parameter is read from SSM). */
  readonly service?: 'DynamoDB' | 'SSM';
  /** Where the config document came from, for a document that does not validate. */
  readonly configSource?: string;
}

const NETWORK: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};
const REJECTED = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'ExpiredToken',
  'SignatureDoesNotMatch',
]);

interface ErrorLike {
  readonly name?: string;
  readonly code?: string;
  readonly message?: string;
  readonly cause?: unknown;
}

/** The error and its causes, outermost first (the store wraps SDK errors in StoreUnavailableError). */
function chain(error: unknown): ErrorLike[] {
  const found: ErrorLike[] = [];
  for (let e: unknown = error; e && typeof e === 'object' && found.length < 8; e = (e as ErrorLike).cause) {
    found.push(e as ErrorLike);
  }
  return found;
}

/** Explains `error` in one sentence; never throws. */
export function explain(error: unknown, context: ExplainContext): Explained {
  if (error instanceof UsageError)
    return { code: error.code, sentence: `${error.message} (see 'slot-sync --help')`, kind: 'usage' };
  if (error instanceof InvalidArgumentError) return { code: error.code, sentence: error.message, kind: 'usage' };
  if (error instanceof EnvironmentError) return { code: error.code, sentence: error.message, kind: 'configuration' };
  const errors = chain(error);
  const service = errors.some((e) => e instanceof StoreUnavailableError) ? 'DynamoDB' : (context.service ?? 'DynamoDB');
  const aws = awsProblem(errors, service, context.env);
  if (aws) return aws;
  if (error instanceof ConfigError)
    return { code: error.code, sentence: configSentence(error, context), kind: 'configuration' };
  if (error instanceof SlotSyncError) return { code: error.code, sentence: oneLine(error.message), kind: 'failed' };
  return { code: 'FAILED', sentence: oneLine(error instanceof Error ? error.message : String(error)), kind: 'failed' };
}

function awsProblem(
  errors: readonly ErrorLike[],
  service: 'DynamoDB' | 'SSM',
  env: ExplainContext['env'],
): Explained | undefined {
  const named = (test: (e: ErrorLike) => boolean) => errors.find(test);
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const variable = service === 'DynamoDB' ? 'AWS_ENDPOINT_URL_DYNAMODB' : 'AWS_ENDPOINT_URL_SSM';
  const endpoint = env[variable] ?? env.AWS_ENDPOINT_URL;
  const where = endpoint ? ` at ${endpoint}` : region ? ` in ${region}` : '';
  if (named((e) => e.name === 'CredentialsProviderError')) {
    return configuration(
      'AWS_CREDENTIALS',
      'no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role provides them (local stack: source .local/env)',
    );
  }
  if (named((e) => /^Region is missing/.test(e.message ?? ''))) {
    return configuration(
      'AWS_REGION',
      'no AWS region set: export AWS_REGION with the region the stack is deployed in (e.g. AWS_REGION=eu-west-1)',
    );
  }
  const rejected = named((e) => REJECTED.has(e.name ?? ''));
  if (rejected) {
    return configuration(
      'AWS_CREDENTIALS_REJECTED',
      `AWS rejected the credentials (${rejected.name}): they are wrong or expired; refresh them (e.g. aws sso login) or choose another AWS_PROFILE`,
    );
  }
  if (named((e) => e.name === 'AccessDeniedException')) {
    return configuration(
      'AWS_ACCESS_DENIED',
      // The stack creates both policies (infra/iam.cjs) and outputs their ARNs: naming them beats listing actions.
      service === 'DynamoDB'
        ? `the credentials may not use the slot table ${env.SLOT_TABLE ?? ''}: attach the stack's OperatorPolicy to them (OperatorReadOnlyPolicy for status, doctor and watch only); the stack outputs their ARNs as OperatorPolicyArn and OperatorReadOnlyPolicyArn`
        : `the credentials may not read ${env.CONFIG_PARAMETER ?? 'the config parameter'}: attach the stack's OperatorReadOnlyPolicy or OperatorPolicy to them (ssm:GetParameter on it, kms:Decrypt through SSM for a SecureString); the stack outputs their ARNs`,
    );
  }
  if (named((e) => e.name === 'ResourceNotFoundException')) {
    return configuration(
      'TABLE_NOT_FOUND',
      `the slot table ${env.SLOT_TABLE ?? ''} does not exist${where}: check SLOT_TABLE (the deployed table is <service>-<stage>-slots, e.g. haproxy-slot-sync-prod-slots)`,
    );
  }
  if (named((e) => e.name === 'ParameterNotFound')) {
    return configuration(
      'PARAMETER_NOT_FOUND',
      `the SSM parameter ${env.CONFIG_PARAMETER ?? ''} does not exist${where}: check CONFIG_PARAMETER (the stage's configParameter, e.g. /haproxy-slot-sync/prod/config) and AWS_REGION`,
    );
  }
  const network = named((e) => e.code !== undefined && NETWORK[e.code] !== undefined);
  const code = service === 'DynamoDB' ? 'DYNAMODB_UNREACHABLE' : 'SSM_UNREACHABLE';
  if (network?.code) {
    const what = NETWORK[network.code];
    const fix = endpoint
      ? `is the local stand-in running (npm start, then source .local/env)? Unset ${variable} to use AWS`
      : 'check the network path to AWS (proxy, VPC endpoint, security group)';
    return { code, sentence: `cannot reach ${service}${where} (${what}): ${fix}`, kind: 'unreachable' };
  }
  const unavailable = errors.find((e) => e instanceof StoreUnavailableError);
  if (unavailable) {
    const detail = errors.at(-1)?.name ?? 'no answer';
    return {
      code,
      sentence: `${service} did not answer${where} (${detail}): try again; if it persists, check the service's health`,
      kind: 'unreachable',
    };
  }
  return undefined;
}

function configuration(code: string, sentence: string): Explained {
  return { code, sentence, kind: 'configuration' };
}

function configSentence(error: ConfigError, context: ExplainContext): string {
  const message = oneLine(error.message);
  const invalid = /^(invalid config|config is not valid JSON)/.test(message);
  return invalid && context.configSource ? `${message}; fix the document in ${context.configSource}` : message;
}

export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
