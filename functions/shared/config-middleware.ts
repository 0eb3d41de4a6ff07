// middy middleware: the config document from SSM (cached by @middy/ssm) or CONFIG_JSON, parsed into the context.
import type middy from '@middy/core';
import ssm from '@middy/ssm';
import type { Context } from 'aws-lambda';
import type { ConfigDocument } from '../lib/config.js';
import { ConfigError } from '../lib/errors.js';
import type { ServiceDeps } from '../lib/services/deps.js';
import { configAndDeps, runtimeEnv } from './runtime.js';

/** What the config middlewares add to the Lambda context. */
export interface SlotSyncContext extends Context {
  config: Readonly<ConfigDocument>;
  deps: ServiceDeps;
  /** The config parameter as @middy/ssm hands it over: already JSON-parsed (middy parses values starting with `{`). */
  configText?: unknown;
  webhookSecret?: unknown;
}

const CACHE_MS = 5 * 60 * 1000;

/**
 * Fetches the parameters this function needs with @middy/ssm (one GetParameters call, cached for five minutes),
 * then parses the config into `context.config` and the ports into `context.deps`.
 */
export function configMiddlewares(options: { webhookSecret?: boolean } = {}): middy.MiddlewareObj[] {
  const env = runtimeEnv();
  const fetchData: Record<string, string> = {};
  if (!env.CONFIG_JSON && env.CONFIG_PARAMETER) fetchData.configText = env.CONFIG_PARAMETER;
  if (options.webhookSecret && env.WEBHOOK_SECRET_PARAMETER) fetchData.webhookSecret = env.WEBHOOK_SECRET_PARAMETER;
  const list: middy.MiddlewareObj[] = [];
  if (Object.keys(fetchData).length > 0) {
    // middy's cache is process-wide: the key names what is fetched, so two handlers in one process never share it.
    list.push(
      ssm({
        fetchData,
        setToContext: true,
        cacheExpiry: CACHE_MS,
        cacheKey: `slot-sync-ssm:${Object.values(fetchData).join(',')}`,
      }) as middy.MiddlewareObj,
    );
  }
  list.push({
    before: (request) => {
      const context = request.context as SlotSyncContext;
      const { config, deps } = configAndDeps(env.CONFIG_JSON ?? context.configText);
      // middy turns a secret that looks like JSON into an object or another string: refuse rather than guess.
      if (options.webhookSecret && context.webhookSecret !== undefined && typeof context.webhookSecret !== 'string') {
        throw new ConfigError('the webhook secret parameter must be plain text, not JSON');
      }
      context.config = config;
      context.deps = deps;
    },
  });
  return list;
}
