// What the run-wide globalSetup provides to every test file (vitest's typed inject/provide).
export {};

declare module 'vitest' {
  export interface ProvidedContext {
    /** Port of the DynamoDB Local started once for the whole run by test/support/global-dynamodb.ts. */
    dynamodbLocalPort?: number;
    /** Where the simulation shards leave their totals for the one summary line (test/support/global-dynamodb.ts). */
    simulationTotalsDir: string;
  }
}
