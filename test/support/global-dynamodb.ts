// vitest globalSetup (named in vitest.config.ts): one DynamoDB Local for the whole run, so test files do not each pay the JVM start.
// It also gathers the simulation shards' totals and prints the one line for the whole simulation.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../bin/harness/dynamodb-local.js';

/** Starts the shared instance and hands its port to connectDynamoDbLocal() in every test file; stops it at the end. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // setupFiles do not run in this (main) process; the SDK would otherwise warn about node 20 here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const local = await startDynamoDbLocal();
  project.provide('dynamodbLocalPort', local.port);
  const totalsDir = mkdtempSync(join(tmpdir(), 'simulation-'));
  project.provide('simulationTotalsDir', totalsDir);
  return async () => {
    await local.stop();
    printSimulationTotals(totalsDir);
    rmSync(totalsDir, { recursive: true, force: true });
  };
}

/** The line CI and a reader look for, summed over the shards that ran (none: no line). */
function printSimulationTotals(dir: string): void {
  const shards = readdirSync(dir).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
  if (shards.length === 0) return;
  const sum = (k: string) => shards.reduce((n, s) => n + Number(s[k] ?? 0), 0);
  console.log(
    `simulation: ${sum('sequences')} sequences, ${sum('steps')} steps, ${sum('checks')} invariant checks, ${sum('violations')} violations, ${sum('deadlines')} answered at their deadline`,
  );
}
