// Local stack: Auto Scaling stand-in (AWS Query protocol) for lifecycle actions and DescribeAutoScalingGroups,
// plus `/_local/…` control routes the local CLI uses to start launches and terminations.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { AsgGroup, AsgValidationError } from './asg-group.js';
import {
  type CallRecord,
  formParams,
  jsonReply,
  listParam,
  type Reply,
  record,
  type StandInServer,
  serveLoopback,
  xml,
} from './http.js';

const NAMESPACE = 'http://autoscaling.amazonaws.com/doc/2011-01-01/';
const ACCOUNT = '123456789012';

/** The running stand-in, its group and every AWS call it answered. */
export interface AutoScalingStandIn extends StandInServer {
  readonly group: AsgGroup;
  readonly calls: readonly CallRecord[];
}

function ok(action: string, result = ''): Reply {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${NAMESPACE}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`;
  return { status: 200, contentType: 'text/xml', body };
}

function fault(status: number, code: string, message: string): Reply {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${NAMESPACE}"><Error><Type>Sender</Type><Code>${xml(code)}</Code><Message>${xml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
  return { status, contentType: 'text/xml', body };
}

function required(params: Record<string, string>, name: string): string {
  const value = params[name];
  if (!value)
    throw new AsgValidationError(
      `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`,
    );
  return value;
}

function groupXml(group: AsgGroup, created: string): string {
  const members = group.members();
  const instances = members
    .map(
      (i) =>
        `<member><InstanceId>${xml(i.id)}</InstanceId><InstanceType>t3.micro</InstanceType><AvailabilityZone>us-east-1a</AvailabilityZone><LifecycleState>${xml(i.state)}</LifecycleState><HealthStatus>Healthy</HealthStatus><ProtectedFromScaleIn>false</ProtectedFromScaleIn></member>`,
    )
    .join('');
  const arn = `arn:aws:autoscaling:us-east-1:${ACCOUNT}:autoScalingGroup:00000000-0000-4000-8000-000000000001:autoScalingGroupName/${group.name}`;
  return `<member><AutoScalingGroupName>${xml(group.name)}</AutoScalingGroupName><AutoScalingGroupARN>${xml(arn)}</AutoScalingGroupARN><MinSize>0</MinSize><MaxSize>10</MaxSize><DesiredCapacity>${members.length}</DesiredCapacity><DefaultCooldown>300</DefaultCooldown><AvailabilityZones><member>us-east-1a</member></AvailabilityZones><HealthCheckType>EC2</HealthCheckType><CreatedTime>${created}</CreatedTime><Instances>${instances}</Instances></member>`;
}

function apiCall(group: AsgGroup, params: Record<string, string>, created: string): Reply {
  const action = params.Action ?? '';
  switch (action) {
    case 'CompleteLifecycleAction':
      if (required(params, 'AutoScalingGroupName') !== group.name)
        throw new AsgValidationError('No active Lifecycle Action found');
      group.complete({
        hookName: required(params, 'LifecycleHookName'),
        token: params.LifecycleActionToken,
        instanceId: params.InstanceId,
        result: required(params, 'LifecycleActionResult'),
      });
      return ok(action);
    case 'RecordLifecycleActionHeartbeat':
      if (required(params, 'AutoScalingGroupName') !== group.name)
        throw new AsgValidationError('No active Lifecycle Action found');
      group.heartbeat({
        hookName: required(params, 'LifecycleHookName'),
        token: params.LifecycleActionToken,
        instanceId: params.InstanceId,
      });
      return ok(action);
    case 'DescribeAutoScalingGroups': {
      const names = listParam(params, 'AutoScalingGroupNames.member');
      const list = names.length === 0 || names.includes(group.name) ? groupXml(group, created) : '';
      return ok(action, `<AutoScalingGroups>${list}</AutoScalingGroups>`);
    }
    default:
      return fault(400, 'InvalidAction', `The action ${action || '(none)'} is not valid for this web service.`);
  }
}

function control(group: AsgGroup, req: IncomingMessage, body: string, calls: readonly CallRecord[]): Reply {
  if (req.method === 'GET' && req.url === '/_local/state') {
    return jsonReply(200, {
      group: group.name,
      instances: [...group.instances.values()],
      calls,
      actions: group.started,
    });
  }
  const route = /^\/_local\/(launch|terminate)$/.exec(req.url ?? '');
  if (req.method !== 'POST' || !route) return jsonReply(404, { error: `no route ${req.method} ${req.url}` });
  const { instanceId } = JSON.parse(body || '{}') as { instanceId?: string };
  if (!instanceId) return jsonReply(400, { error: 'instanceId is required' });
  const started = route[1] === 'launch' ? group.beginLaunch(instanceId) : group.beginTerminate(instanceId);
  return jsonReply(200, started);
}

/** Starts the stand-in for one group on 127.0.0.1. Every API call is logged; unknown actions get `InvalidAction`. */
export async function startAutoScalingStandIn(groupName: string, port = 0): Promise<AutoScalingStandIn> {
  const group = new AsgGroup(groupName);
  const calls: CallRecord[] = [];
  const created = new Date().toISOString();
  const server = await serveLoopback((req, body) => {
    if (req.url?.startsWith('/_local/')) {
      try {
        return control(group, req, body, calls);
      } catch (error) {
        return jsonReply(409, { error: (error as Error).message });
      }
    }
    const params = formParams(body);
    let reply: Reply;
    try {
      reply = apiCall(group, params, created);
    } catch (error) {
      if (!(error instanceof AsgValidationError)) throw error;
      reply = fault(400, error.code, error.message);
    }
    const code = reply.status >= 300 ? /<Code>([^<]*)<\/Code>/.exec(reply.body)?.[1] : undefined;
    record(calls, {
      service: 'autoscaling',
      action: params.Action ?? '',
      params,
      status: reply.status,
      ...(code ? { error: code } : {}),
    });
    return reply;
  }, port);
  return { ...server, group, calls };
}
