// The configuration contract (DESIGN §6): env and config document, validated once into a frozen object.
import { z } from 'zod';
import { parseCidr } from './domain/address-policy.js';
import { type ServerOptions, validServerOptions } from './domain/server-options.js';
import { ConfigError, InvalidArgumentError } from './errors.js';

const name = z
  .string()
  .regex(/^[A-Za-z0-9._:-]+$/, 'only A-Z a-z 0-9 . _ : - are allowed')
  .max(100);

const tlsSchema = z.strictObject({
  /** PEM text of the CA that signed the proxy's certificate. */
  ca: z.string().min(1),
  /** PEM client certificate and key presented to the TLS-terminating proxy in front of the CLI socket. */
  cert: z.string().min(1),
  key: z.string().min(1),
  servername: z.string().min(1).optional(),
});

const hostSchema = z.strictObject({
  name,
  host: z.string().min(1).max(253),
  port: z.number().int().min(1).max(65535),
  tls: tlsSchema.optional(),
});

const healthGateSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** How long a new slot may wait in drain for its first passing check before the launch gives up on it. */
  timeoutSeconds: z.number().int().min(1).max(900).default(60),
});

const cidrSchema = z
  .string()
  .max(64)
  .superRefine((text, ctx) => {
    try {
      parseCidr(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });
/**
 * `backends[].dynamicServerOptions`: the keywords a dynamic server is added with, validated against the whitelist of
 * domain/server-options.ts (never free text on the wire). The issue names the keyword and what it must be.
 */
const serverOptionsSchema = z.unknown().transform((value, ctx): ServerOptions => {
  try {
    return validServerOptions(value);
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    const keyword = error.field.split('.')[1];
    ctx.addIssue({ code: 'custom', message: error.message, path: keyword ? [keyword] : [] });
    return z.NEVER;
  }
});

// HAProxy's roundrobin takes at most 4095 servers per backend; nothing here needs more.
const MAX_SLOTS = 4095;

const backendSchema = z.strictObject({
  name,
  /** Server names of this backend's `server-template` slots start with this (e.g. `web` for web1..web20). */
  slotPrefix: name,
  /** The port instances serve on; a webhook member may name its own. */
  port: z.number().int().min(1).max(65535),
  autoScalingGroups: z.array(z.string().min(1).max(255)).default([]),
  weight: z.number().int().min(0).max(256).default(1),
  drainSeconds: z.number().int().min(0).max(86_400).default(300),
  healthGate: healthGateSchema.optional(),
  /**
   * What an EC2 rebalance recommendation does to this backend's members: `ignore` (default: capacity rebalancing
   * launches a replacement and terminates through the hook, which drains then) or `drain` (leave at once, retired).
   */
  onRebalance: z.enum(['ignore', 'drain']).default('ignore'),
  /** Members' addresses must be inside one of these (after the fixed refusals); absent = any unicast address. */
  allowedCidrs: z.array(cidrSchema).min(1).max(100).optional(),
  /** Loopback members for this backend (overrides the document's `allowLoopback`). */
  allowLoopback: z.boolean().optional(),
  /**
   * Slots in all, template slots included. When every template slot is taken, servers are added at run time up to
   * this (docs/ARCHITECTURE.md, "Growth"). Unset, or not above the template's size: no growth.
   */
  maxSlots: z.number().int().min(1).max(MAX_SLOTS).optional(),
  /** Keywords of the servers growth adds (e.g. `{"check": true, "inter": 2000}`); template slots keep their own. */
  dynamicServerOptions: serverOptionsSchema.optional(),
});

export const configDocumentSchema = z
  .strictObject({
    hosts: z.array(hostSchema).min(1),
    backends: z.array(backendSchema).min(1),
    timeouts: z
      .strictObject({
        connectMs: z.number().int().min(50).max(30_000).default(1_000),
        /** Overall deadline for one batch on one host, connect included. */
        commandMs: z.number().int().min(100).max(60_000).default(5_000),
        /** A batch planned from a table read is not written later than this after the read (ARCHITECTURE.md, "Fencing"). */
        planTtlMs: z.number().int().min(20).max(10_000).default(1_000),
        /** Clock skew and write latency allowed between invocations; the drain fence is planTtlMs + this. */
        clockSkewMs: z.number().int().min(0).max(10_000).default(500),
        /** How often a launch or reconcile looks again while a slot waits for its first passing check. */
        pollMs: z.number().int().min(10).max(10_000).default(100),
        /** How often a drain looks at the sessions left (they end in seconds to minutes). */
        drainPollMs: z.number().int().min(10).max(60_000).default(1_000),
      })
      .default({
        connectMs: 1_000,
        commandMs: 5_000,
        planTtlMs: 1_000,
        clockSkewMs: 500,
        pollMs: 100,
        drainPollMs: 1_000,
      }),
    lifecycle: z
      .strictObject({
        onNoSlot: z.enum(['ABANDON', 'CONTINUE']).default('ABANDON'),
        /** Send RecordLifecycleActionHeartbeat this often while a lifecycle action waits (drain, handed-over launch). */
        heartbeatSeconds: z.number().int().min(10).max(7_200).default(300),
        /** The hooks' HeartbeatTimeout (the smaller of launch and terminate): an action not heartbeated within it ends. */
        hookTimeoutSeconds: z.number().int().min(30).max(7_200).default(600),
        /** A launch that is not READY everywhere this long after its event is ABANDONed (the instance is replaced). */
        launchTimeoutSeconds: z.number().int().min(5).max(7_200).default(300),
        /** Drain deadline after an EC2 `stopping` / `shutting-down` notice (the instance has seconds, not minutes). */
        stateChangeDrainSeconds: z.number().int().min(0).max(600).default(30),
        /** A Spot warning's drain ends this long before the stated action time, so MAINT lands before EC2 acts. */
        spotMarginSeconds: z.number().int().min(0).max(110).default(10),
      })
      .default({
        onNoSlot: 'ABANDON',
        heartbeatSeconds: 300,
        hookTimeoutSeconds: 600,
        launchTimeoutSeconds: 300,
        stateChangeDrainSeconds: 30,
        spotMarginSeconds: 10,
      }),
    quorum: z.enum(['all', 'majority', 'any']).default('all'),
    reconcile: z
      .strictObject({
        /** Converge the table to each mapped ASG's InService instances (catches lost events, attach/detach/standby). */
        asgCrossCheck: z.boolean().default(false),
      })
      .default({ asgCrossCheck: false }),
    /**
     * Members may be loopback addresses (the HAProxy host itself): only for the local stack and tests, never a
     * deployment, where a webhook caller could otherwise point a public frontend at services local to the host.
     */
    allowLoopback: z.boolean().default(false),
  })
  .superRefine((doc, ctx) => {
    const dup = (values: string[]) => values.find((v, i) => values.indexOf(v) !== i);
    const host = dup(doc.hosts.map((h) => h.name));
    if (host) ctx.addIssue({ code: 'custom', path: ['hosts'], message: `duplicate host name ${host}` });
    const backend = dup(doc.backends.map((b) => b.name));
    if (backend) ctx.addIssue({ code: 'custom', path: ['backends'], message: `duplicate backend ${backend}` });
    checkHookTimings(doc, ctx);
  });

// Reconcile runs once a minute: a heartbeat it owes may come up to this late.
const RECONCILE_PERIOD_SECONDS = 60;
// AWS: heartbeats keep a lifecycle action alive for at most 100 × its heartbeat timeout, and never beyond 48 hours.
const MAX_HOOK_SECONDS = 48 * 3600;

/** Drains and launches must fit in what a lifecycle hook can be kept alive for, or the instance goes mid-drain. */
function checkHookTimings(
  doc: {
    lifecycle: { heartbeatSeconds: number; hookTimeoutSeconds: number; launchTimeoutSeconds: number };
    backends: { name: string; drainSeconds: number }[];
  },
  ctx: z.RefinementCtx,
): void {
  const { heartbeatSeconds, hookTimeoutSeconds, launchTimeoutSeconds } = doc.lifecycle;
  if (heartbeatSeconds + RECONCILE_PERIOD_SECONDS >= hookTimeoutSeconds) {
    ctx.addIssue({
      code: 'custom',
      path: ['lifecycle', 'heartbeatSeconds'],
      message: `must be below hookTimeoutSeconds (${hookTimeoutSeconds}) minus the reconcile period (${RECONCILE_PERIOD_SECONDS}s), or a hook times out between two heartbeats`,
    });
  }
  const longest = Math.min(100 * hookTimeoutSeconds, MAX_HOOK_SECONDS);
  // The drain must end, and its action be completed, while the hook is still alive (margin: one reconcile period).
  doc.backends.forEach((b, i) => {
    if (b.drainSeconds + RECONCILE_PERIOD_SECONDS > longest) {
      ctx.addIssue({
        code: 'custom',
        path: ['backends', i, 'drainSeconds'],
        message: `${b.drainSeconds}s cannot finish inside a terminate hook kept alive by heartbeats (at most ${longest - RECONCILE_PERIOD_SECONDS}s with hookTimeoutSeconds ${hookTimeoutSeconds}: 100 × the timeout, capped at 48 h, less one reconcile period)`,
      });
    }
  });
  if (launchTimeoutSeconds + RECONCILE_PERIOD_SECONDS > longest) {
    ctx.addIssue({
      code: 'custom',
      path: ['lifecycle', 'launchTimeoutSeconds'],
      message: `cannot finish inside a launch hook kept alive by heartbeats (at most ${longest - RECONCILE_PERIOD_SECONDS}s)`,
    });
  }
}

export type ConfigDocument = z.infer<typeof configDocumentSchema>;
export type HostConfig = ConfigDocument['hosts'][number];
export type BackendConfig = ConfigDocument['backends'][number];

const envSchema = z
  .object({
    SLOT_TABLE: z.string().min(1),
    IDEMPOTENCY_TABLE: z.string().min(1).optional(),
    CONFIG_PARAMETER: z.string().min(1).optional(),
    CONFIG_JSON: z.string().min(1).optional(),
    WEBHOOK_SECRET_PARAMETER: z.string().min(1).optional(),
  })
  .refine((e) => e.CONFIG_PARAMETER || e.CONFIG_JSON, { message: 'set CONFIG_PARAMETER or CONFIG_JSON' });

export type Env = z.infer<typeof envSchema>;

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** Validates the environment. The only reader of `process.env` besides SDK endpoint variables. */
export function parseEnv(env: Record<string, string | undefined> = process.env): Readonly<Env> {
  const result = envSchema.safeParse(env);
  if (!result.success) throw new ConfigError(`invalid environment: ${describe(result.error)}`);
  return Object.freeze(result.data);
}

/** Parses and validates a config document (JSON text or an object) into a deeply frozen value. */
export function parseConfig(input: string | unknown): Readonly<ConfigDocument> {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (cause) {
      throw new ConfigError(`config is not valid JSON: ${(cause as Error).message}`, { cause });
    }
  }
  const result = configDocumentSchema.safeParse(value);
  if (!result.success) throw new ConfigError(`invalid config: ${describe(result.error)}`);
  return deepFreeze(result.data);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
