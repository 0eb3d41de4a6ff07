// Turns the CloudFormation table resources in infra/dynamodb-tables.json into CreateTable inputs: infra is the one source of truth.
import type { CreateTableCommandInput, KeySchemaElement, ScalarAttributeType } from '@aws-sdk/client-dynamodb';
// A static JSON import (not fs) so an esbuild bundle carries the definition inside it.
import tables from '../../../infra/dynamodb-tables.json' with { type: 'json' };

/** Logical ids of the tables infra deploys. */
export const TABLE_RESOURCES = ['SlotTable', 'IdempotencyTable'] as const;
export type TableResource = (typeof TABLE_RESOURCES)[number];

interface CfnTableProperties {
  readonly AttributeDefinitions: ReadonlyArray<{ readonly AttributeName: string; readonly AttributeType: string }>;
  readonly KeySchema: ReadonlyArray<{ readonly AttributeName: string; readonly KeyType: string }>;
  readonly BillingMode?: string;
  readonly GlobalSecondaryIndexes?: ReadonlyArray<{
    readonly IndexName: string;
    readonly KeySchema: ReadonlyArray<{ readonly AttributeName: string; readonly KeyType: string }>;
    readonly Projection: { readonly ProjectionType?: string; readonly NonKeyAttributes?: readonly string[] };
  }>;
  readonly TimeToLiveSpecification?: { readonly AttributeName: string; readonly Enabled: boolean };
  readonly SSESpecification?: { readonly SSEEnabled: boolean };
}

function properties(resource: TableResource): CfnTableProperties {
  const found = (tables.Resources as Record<string, { Type: string; Properties: CfnTableProperties } | undefined>)[
    resource
  ];
  if (found?.Type !== 'AWS::DynamoDB::Table') throw new Error(`infra/dynamodb-tables.json has no table ${resource}`);
  return found.Properties;
}

function keySchema(keys: CfnTableProperties['KeySchema']): KeySchemaElement[] {
  return keys.map((k) => ({ AttributeName: k.AttributeName, KeyType: k.KeyType as KeySchemaElement['KeyType'] }));
}

/**
 * CreateTable input for one infra resource under another name (tests, local stack). Deletion protection and PITR are
 * left out on purpose: local tables are disposable, and PITR is not a CreateTable parameter anyway.
 */
export function createTableInput(resource: TableResource, tableName: string): CreateTableCommandInput {
  const p = properties(resource);
  return {
    TableName: tableName,
    AttributeDefinitions: p.AttributeDefinitions.map((a) => ({
      AttributeName: a.AttributeName,
      AttributeType: a.AttributeType as ScalarAttributeType,
    })),
    KeySchema: keySchema(p.KeySchema),
    BillingMode: p.BillingMode === 'PAY_PER_REQUEST' ? 'PAY_PER_REQUEST' : 'PROVISIONED',
    ...(p.BillingMode === 'PAY_PER_REQUEST'
      ? {}
      : { ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 } }),
    ...(p.GlobalSecondaryIndexes?.length
      ? {
          GlobalSecondaryIndexes: p.GlobalSecondaryIndexes.map((g) => ({
            IndexName: g.IndexName,
            KeySchema: keySchema(g.KeySchema),
            Projection: {
              ProjectionType: g.Projection.ProjectionType as 'ALL' | 'KEYS_ONLY' | 'INCLUDE' | undefined,
              NonKeyAttributes: g.Projection.NonKeyAttributes ? [...g.Projection.NonKeyAttributes] : undefined,
            },
          })),
        }
      : {}),
    ...(p.SSESpecification ? { SSESpecification: { Enabled: p.SSESpecification.SSEEnabled } } : {}),
  };
}

/** The TTL attribute infra enables on a table (UpdateTimeToLive is a separate call), or undefined. */
export function timeToLiveAttribute(resource: TableResource): string | undefined {
  const ttl = properties(resource).TimeToLiveSpecification;
  return ttl?.Enabled ? ttl.AttributeName : undefined;
}
