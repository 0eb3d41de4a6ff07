// Local stack: EC2 stand-in speaking the EC2 Query protocol (form POST in, XML out), DescribeInstances only.
import { randomUUID } from 'node:crypto';
import {
  type CallRecord,
  formParams,
  listParam,
  type Reply,
  record,
  type StandInServer,
  serveLoopback,
  xml,
} from './http.js';

const NAMESPACE = 'http://ec2.amazonaws.com/doc/2016-11-15/';

/** An instance the stand-in knows: the sample HTTP server's id and loopback address. */
export interface Ec2Instance {
  readonly id: string;
  readonly privateIp: string;
}

/** The running stand-in and every call it answered. */
export interface Ec2StandIn extends StandInServer {
  readonly calls: readonly CallRecord[];
}

function errorReply(status: number, code: string, message: string): Reply {
  // EC2's error envelope differs from the other Query services: <Response><Errors><Error>…, RequestID in capitals.
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${xml(code)}</Code><Message>${xml(message)}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`;
  return { status, contentType: 'text/xml;charset=UTF-8', body };
}

function instanceXml(instance: Ec2Instance): string {
  return [
    '<item>',
    `<instanceId>${xml(instance.id)}</instanceId>`,
    '<imageId>ami-0123456789abcdef0</imageId>',
    '<instanceState><code>16</code><name>running</name></instanceState>',
    `<privateIpAddress>${xml(instance.privateIp)}</privateIpAddress>`,
    '<instanceType>t3.micro</instanceType>',
    '<placement><availabilityZone>us-east-1a</availabilityZone><tenancy>default</tenancy></placement>',
    '</item>',
  ].join('');
}

function describeInstances(params: Record<string, string>, instances: readonly Ec2Instance[]): Reply {
  const ids = listParam(params, 'InstanceId');
  const missing = ids.filter((id) => !instances.some((i) => i.id === id));
  if (missing.length > 0) {
    const quoted = missing.map((id) => `'${id}'`).join(', ');
    const noun = missing.length === 1 ? 'ID' : 'IDs';
    return errorReply(
      400,
      'InvalidInstanceID.NotFound',
      `The instance ${noun} ${quoted} do${missing.length === 1 ? 'es' : ''} not exist`,
    );
  }
  const selected = ids.length > 0 ? instances.filter((i) => ids.includes(i.id)) : instances;
  // One reservation per instance, as separate RunInstances calls would have made them.
  const reservations = selected
    .map(
      (i, n) =>
        `<item><reservationId>r-${String(n + 1).padStart(17, '0')}</reservationId><ownerId>123456789012</ownerId><groupSet/><instancesSet>${instanceXml(i)}</instancesSet></item>`,
    )
    .join('');
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse xmlns="${NAMESPACE}"><requestId>${randomUUID()}</requestId><reservationSet>${reservations}</reservationSet></DescribeInstancesResponse>`;
  return { status: 200, contentType: 'text/xml;charset=UTF-8', body };
}

/** Starts the EC2 stand-in on 127.0.0.1 for a fixed set of instances; every other action is `InvalidAction`. */
export async function startEc2StandIn(instances: readonly Ec2Instance[], port = 0): Promise<Ec2StandIn> {
  const calls: CallRecord[] = [];
  const server = await serveLoopback((req, body) => {
    const params = formParams(body);
    const action = params.Action ?? '';
    const reply =
      req.method === 'POST' && action === 'DescribeInstances'
        ? describeInstances(params, instances)
        : errorReply(400, 'InvalidAction', `The action ${action || '(none)'} is not valid for this web service.`);
    const error = reply.status >= 300 ? /<Code>([^<]*)<\/Code>/.exec(reply.body)?.[1] : undefined;
    record(calls, { service: 'ec2', action, params, status: reply.status, ...(error ? { error } : {}) });
    return reply;
  }, port);
  return { ...server, calls };
}
