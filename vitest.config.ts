import { defineConfig } from 'vitest/config';

// Set here, not in a setup file, so the globalSetup process and every worker inherit it: node 20 is what CI runs.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/setup.ts'],
    // One DynamoDB Local (a JVM, ~2 s to start) for the whole run; each file creates its own uniquely named tables.
    globalSetup: ['test/support/global-dynamodb.ts'],
    // Integration tests start real HAProxy and DynamoDB Local processes; two cores are shared by all of them.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
