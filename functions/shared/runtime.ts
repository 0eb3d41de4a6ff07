// Lambda-side wiring shared by the three handlers: env, logger, metrics, config, and the ports built from them.
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type ConfigDocument, type Env, parseConfig, parseEnv } from '../lib/config.js';
import { ConfigError } from '../lib/errors.js';
import type { ServiceDeps } from '../lib/services/deps.js';
import { createDeps } from './compose.js';

export const logger = new Logger({ serviceName: 'haproxy-slot-sync' });
const NO_METRICS = 'No application metrics to publish';
/**
 * Metrics' own warnings, through the structured logger. An invocation that emits no metric is normal here (a skipped
 * event, a reconcile with nothing to fix), so Powertools' warning about it is a debug line, not a warning per call.
 */
const metricsLog = {
  debug: (message: unknown) => logger.debug(String(message)),
  info: (message: unknown) => logger.info(String(message)),
  warn: (message: unknown) =>
    String(message).startsWith(NO_METRICS) ? logger.debug(String(message)) : logger.warn(String(message)),
  error: (message: unknown) => logger.error(String(message)),
};
export const metrics = new Metrics({
  namespace: 'HaproxySlotSync',
  serviceName: 'haproxy-slot-sync',
  logger: metricsLog,
});

type Extra = Record<string, unknown>;
/** The services' log port on top of Powertools' Logger (structured JSON, correlation ids). */
const serviceLog = {
  info: (message: string, extra?: Extra) => logger.info(message, { ...extra }),
  warn: (message: string, extra?: Extra) => logger.warn(message, { ...extra }),
  error: (message: string, extra?: Extra) => logger.error(message, { ...extra }),
};

let env: Readonly<Env> | undefined;
/** The validated environment, read once per container. */
export function runtimeEnv(): Readonly<Env> {
  env ??= parseEnv();
  return env;
}

let dynamodb: DynamoDBClient | undefined;
/**
 * One DynamoDB client per container, for the slot store and the idempotency records alike: they share its connections,
 * so a cold launch's claim goes out on the connection its idempotency write has just opened (one TLS handshake on the
 * launch path, not two), and a new config document builds new ports without another client and its sockets.
 */
function dynamodbClient(): DynamoDBClient {
  dynamodb ??= new DynamoDBClient({});
  return dynamodb;
}

let cached: { key: string; config: Readonly<ConfigDocument>; deps: ServiceDeps } | undefined;

/**
 * Parses the config (JSON text from CONFIG_JSON, or the value @middy/ssm fetched — which middy has already
 * JSON-parsed into an object) and builds the ports, once per distinct document: SDK clients are kept warm across
 * invocations, HAProxy connections are not (the fleet opens one per batch).
 */
export function configAndDeps(document: unknown): { config: Readonly<ConfigDocument>; deps: ServiceDeps } {
  const key = typeof document === 'string' ? document : JSON.stringify(document);
  if (cached?.key === key) return cached;
  const config = parseConfig(document);
  const deps = createDeps({ config, env: runtimeEnv(), log: serviceLog, clients: { dynamodb: dynamodbClient() } });
  cached = { key, config, deps };
  return cached;
}

const persistence = new Map<string, DynamoDBPersistenceLayer>();
/**
 * Powertools idempotency records in IDEMPOTENCY_TABLE, one persistence layer per use: a layer keeps the configuration
 * it was first used with, so the webhook's and the lifecycle's (other keys) must not share one in a process.
 */
export function idempotencyStore(use: 'lifecycle' | 'webhook'): DynamoDBPersistenceLayer {
  const tableName = runtimeEnv().IDEMPOTENCY_TABLE;
  if (!tableName) throw new ConfigError('IDEMPOTENCY_TABLE is not set (serverless.yml sets it on every function)');
  let layer = persistence.get(use);
  if (!layer) {
    layer = new DynamoDBPersistenceLayer({ tableName, awsSdkV3Client: dynamodbClient() });
    persistence.set(use, layer);
  }
  return layer;
}

/** A value as JSON would carry it (no `undefined` fields): what the idempotency record stores and a replay returns. */
export function plainJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
