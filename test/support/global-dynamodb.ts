// vitest globalSetup (named in vitest.config.ts): one DynamoDB Local for the whole run, so test files do not each pay the JVM start.
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../bin/harness/dynamodb-local.js';

/** Starts the shared instance and hands its port to connectDynamoDbLocal() in every test file; stops it at the end. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // setupFiles do not run in this (main) process; the SDK would otherwise warn about node 20 here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const local = await startDynamoDbLocal();
  project.provide('dynamodbLocalPort', local.port);
  return () => local.stop();
}
