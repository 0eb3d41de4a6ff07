// infra/dynamodb-tables.json is the single source of the tables' shape: the CreateTable inputs come from it.

import { describe, expect, it } from 'vitest';
import { RETIRED_EXPIRY_ATTRIBUTE } from '../../../functions/lib/slots/retired.js';
import { createTableInput, timeToLiveAttribute } from '../../../functions/lib/slots/table-definition.js';
import tables from '../../../infra/dynamodb-tables.json' with { type: 'json' };

describe('table definition', () => {
  it('builds the slot table input from the infra resource under the given name', () => {
    expect(createTableInput('SlotTable', 'local-slots')).toEqual({
      TableName: 'local-slots',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { Enabled: true },
    });
  });

  it('builds the idempotency table input with the Powertools key and TTL attribute', () => {
    expect(createTableInput('IdempotencyTable', 'local-idem').KeySchema).toEqual([
      { AttributeName: 'id', KeyType: 'HASH' },
    ]);
    expect(timeToLiveAttribute('IdempotencyTable')).toBe('expiration');
    // Retired-member tombstones expire on their own; slot and member items never carry the attribute.
    expect(timeToLiveAttribute('SlotTable')).toBe(RETIRED_EXPIRY_ATTRIBUTE);
  });

  it('keeps the deployed table protected: on-demand, PITR, deletion protection, SSE', () => {
    const slot = tables.Resources.SlotTable.Properties;
    expect(slot).toMatchObject({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: serverless variables, resolved at deploy time
      TableName: '${self:service}-${sls:stage}-slots',
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      SSESpecification: { SSEEnabled: true },
    });
    const idempotency = tables.Resources.IdempotencyTable.Properties;
    expect(idempotency).toMatchObject({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: serverless variables, resolved at deploy time
      TableName: '${self:service}-${sls:stage}-idempotency',
      BillingMode: 'PAY_PER_REQUEST',
    });
  });
});
