// Tests: AWS calls as IAM authorises them, and whether a set of policy statements (as infra/iam.cjs generates them)
// allows each. Shared by the handlers' and the operator CLI's grant tests.
import { createRequire } from 'node:module';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation and AWS request bodies are untyped JSON.
export type Json = Record<string, any>;

/**
 * One AWS call as IAM sees it: its action (`autoscaling:CompleteLifecycleAction`) and the resource it acts on — how its
 * ARN ends (`:autoScalingGroupName/web-asg`), a table as the template names it (`GetAtt:SlotTable.Arn`), or `*` for an
 * action that takes no resource.
 */
export interface Call {
  readonly action: string;
  readonly resource: string;
}

/**
 * The calls a DynamoDB request (operation and body, as read off the wire) is authorised as: a transaction item by item,
 * a batch by its own action (AWS, "Using IAM with DynamoDB"). `tableId` names the template resource of a table name;
 * a request on an index acts on `<table ARN>/index/<name>`, which a grant on the table alone does not cover.
 */
export function dynamodbCalls(request: Json, tableId: (name: string) => string): Call[] {
  const { operation, body } = request;
  const on = (table: string, action: string, index?: string): Call => ({
    action: `dynamodb:${action}`,
    resource: `GetAtt:${tableId(table)}.Arn${index ? `/index/${index}` : ''}`,
  });
  const item = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem' };
  if (operation === 'TransactWriteItems')
    return (body.TransactItems as Json[]).flatMap((t) =>
      Object.entries(item)
        .filter(([kind]) => t[kind])
        .map(([kind, action]) => on(t[kind].TableName, action)),
    );
  if (operation === 'TransactGetItems')
    return (body.TransactItems as Json[]).map((t) => on(t.Get.TableName, 'GetItem'));
  if (operation === 'BatchGetItem' || operation === 'BatchWriteItem')
    return Object.keys(body.RequestItems).map((table) => on(table, operation));
  return [on(body.TableName, operation, body.IndexName)];
}

/** The IAM view of an SDK command sent to EC2, Auto Scaling or SSM: one call per parameter GetParameters names. */
export function sdkCalls(service: string, action: string, input: Json): Call[] {
  const full = `${service}:${action}`;
  if (Array.isArray(input.Names)) return input.Names.map((n: string) => ({ action: full, resource: `:parameter${n}` }));
  if (typeof input.Name === 'string') return [{ action: full, resource: `:parameter${input.Name}` }];
  if (input.AutoScalingGroupName)
    return [{ action: full, resource: `:autoScalingGroupName/${input.AutoScalingGroupName}` }];
  return [{ action: full, resource: '*' }];
}

/** A statement's resource as text: a literal, `GetAtt:<Id>.<Attr>`, or the text of an Fn::Sub. */
function resourceText(r: Json | string): string {
  if (typeof r === 'string') return r;
  if (r['Fn::GetAtt']) return `GetAtt:${r['Fn::GetAtt'].join('.')}`;
  return String(r['Fn::Sub'] ?? JSON.stringify(r));
}

/** Whether an Allow statement covers `call`: same action, and one of its resources is `*` or ends with the call's. */
function allows(statement: Json, call: Call): boolean {
  if (![statement.Action].flat().includes(call.action)) return false;
  if (call.resource === '*') return true;
  return [statement.Resource].flat().some((r: Json | string) => {
    const text = resourceText(r);
    return text === '*' || text.endsWith(call.resource);
  });
}

/** The calls none of `statements` allows, each once, as `action on …resource`. */
export function refused(statements: readonly Json[], calls: readonly Call[]): string[] {
  const missing = calls.filter((c) => !statements.some((s) => s.Effect === 'Allow' && allows(s, c)));
  return [...new Set(missing.map((c) => `${c.action} on …${c.resource}`))];
}

/** The stage params the generator resolves (osls's `param:` variables), as the tests deploy them. */
export type StageParams = Record<string, unknown>;

/** The resources infra/iam.cjs generates with `export` ('roles' or 'operatorPolicies') for these params. */
export async function generated(exported: 'roles' | 'operatorPolicies', params: StageParams): Promise<Json> {
  const iam = createRequire(import.meta.url)('../../infra/iam.cjs');
  const resolveVariable = async (v: string) => params[v.replace(/^param:/, '')];
  return (await iam[exported]({ resolveVariable })).Resources as Json;
}
