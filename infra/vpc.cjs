// The functions' VPC placement and its optional egress (issue 12, item 8): the stage's subnets and security groups,
// refused while they are placeholders, and VPC endpoints for the AWS APIs the functions call, from `vpcEndpoints`.
'use strict';

const { listParam } = require('./params.cjs');

/** Stages that are only ever packaged (`npm run package`, tests, CI) or run offline (`npm start`): placeholders ok. */
const PLACEHOLDER_STAGES = ['test', 'local'];
const PLACEHOLDERS = new Set(['subnet-0123456789abcdef0', 'sg-0123456789abcdef0']);
const ID = {
  subnet: /^subnet-[0-9a-f]{8,17}$/,
  sg: /^sg-[0-9a-f]{8,17}$/,
  vpc: /^vpc-[0-9a-f]{8,17}$/,
  rtb: /^rtb-[0-9a-f]{8,17}$/,
};

/** What the functions call from inside the VPC (SQS, CloudWatch Logs and X-Ray are reached by Lambda, not by them). */
const ENDPOINT_SERVICES = {
  dynamodb: { id: 'DynamoDbGatewayEndpoint', type: 'Gateway' },
  ssm: { id: 'SsmInterfaceEndpoint', type: 'Interface' },
  ec2: { id: 'Ec2InterfaceEndpoint', type: 'Interface' },
  autoscaling: { id: 'AutoScalingInterfaceEndpoint', type: 'Interface' },
};

async function ids(resolveVariable, param, kind) {
  const stage = await resolveVariable('sls:stage');
  const list = await listParam(resolveVariable, param);
  if (list.length === 0)
    throw new Error(`params.${stage}.${param}: list the ${kind} IDs of the VPC that reaches the HAProxy hosts`);
  for (const id of list) {
    const placeholder = typeof id !== 'string' || PLACEHOLDERS.has(id) || /replace/i.test(id);
    if (placeholder && !PLACEHOLDER_STAGES.includes(stage)) {
      throw new Error(
        `params.${stage}.${param}: ${JSON.stringify(id)} is a placeholder; set the real ${kind} IDs in serverless.yml ` +
          `(placeholders are accepted only for the package-only stages ${PLACEHOLDER_STAGES.join(', ')})`,
      );
    }
    if (!ID[kind].test(id)) throw new Error(`params.${stage}.${param}: ${JSON.stringify(id)} is not a ${kind} ID`);
  }
  return list;
}

/** provider.vpc.subnetIds */
const subnetIds = ({ resolveVariable }) => ids(resolveVariable, 'subnetIds', 'subnet');
/** provider.vpc.securityGroupIds */
const securityGroupIds = ({ resolveVariable }) => ids(resolveVariable, 'securityGroupIds', 'sg');

function checkIds(stage, field, list, kind) {
  if (!Array.isArray(list) || list.length === 0 || !list.every((id) => ID[kind].test(id))) {
    throw new Error(`params.${stage}.vpcEndpoints.${field}: a list of ${kind} IDs is required`);
  }
  return list;
}

/**
 * Gateway (DynamoDB) and interface (SSM, EC2, Auto Scaling) endpoints for the listed `vpcEndpoints.services`;
 * none when the list is empty (the VPC then needs a NAT route to those APIs). Interface endpoints get a security
 * group that admits HTTPS from the functions' groups only, unless `vpcEndpoints.securityGroupIds` names one.
 */
async function endpoints({ resolveVariable }) {
  const stage = await resolveVariable('sls:stage');
  const config = (await resolveVariable('param:vpcEndpoints')) ?? {};
  if (typeof config !== 'object' || Array.isArray(config))
    throw new Error(`params.${stage}.vpcEndpoints: an object is required`);
  const known = ['vpcId', 'services', 'routeTableIds', 'subnetIds', 'securityGroupIds'];
  const unknown = Object.keys(config).filter((k) => !known.includes(k));
  if (unknown.length > 0)
    throw new Error(`params.${stage}.vpcEndpoints: unknown keys ${unknown.join(', ')} (known: ${known.join(', ')})`);
  const services = config.services ?? [];
  if (!Array.isArray(services)) throw new Error(`params.${stage}.vpcEndpoints.services: a list is required`);
  for (const s of services) {
    if (!Object.hasOwn(ENDPOINT_SERVICES, s)) {
      throw new Error(
        `params.${stage}.vpcEndpoints.services: ${JSON.stringify(s)} is not one of ${Object.keys(ENDPOINT_SERVICES).join(', ')}`,
      );
    }
  }
  if (services.length === 0) return { Resources: {} };
  if (typeof config.vpcId !== 'string' || !ID.vpc.test(config.vpcId)) {
    throw new Error(`params.${stage}.vpcEndpoints.vpcId: the ID of the functions' VPC is required`);
  }

  const Resources = {};
  const interfaces = services.filter((s) => ENDPOINT_SERVICES[s].type === 'Interface');
  let endpointGroups = config.securityGroupIds;
  if (interfaces.length > 0 && endpointGroups === undefined) {
    const functionGroups = await ids(resolveVariable, 'securityGroupIds', 'sg');
    Resources.VpcEndpointSecurityGroup = {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: {
        GroupDescription: 'haproxy-slot-sync interface endpoints: HTTPS from the functions only',
        VpcId: config.vpcId,
        SecurityGroupIngress: functionGroups.map((sg) => ({
          IpProtocol: 'tcp',
          FromPort: 443,
          ToPort: 443,
          SourceSecurityGroupId: sg,
          Description: 'AWS API calls from the functions',
        })),
        // An endpoint only answers; nothing needs to leave it.
        SecurityGroupEgress: [{ IpProtocol: '-1', CidrIp: '127.0.0.1/32', Description: 'no egress' }],
      },
    };
    endpointGroups = [{ Ref: 'VpcEndpointSecurityGroup' }];
  } else if (interfaces.length > 0) {
    checkIds(stage, 'securityGroupIds', endpointGroups, 'sg');
  }
  const subnets =
    config.subnetIds === undefined
      ? await ids(resolveVariable, 'subnetIds', 'subnet')
      : checkIds(stage, 'subnetIds', config.subnetIds, 'subnet');

  for (const service of services) {
    const { id, type } = ENDPOINT_SERVICES[service];
    const common = { VpcId: config.vpcId, ServiceName: { 'Fn::Sub': `com.amazonaws.\${AWS::Region}.${service}` } };
    Resources[id] =
      type === 'Gateway'
        ? {
            Type: 'AWS::EC2::VPCEndpoint',
            Properties: {
              ...common,
              VpcEndpointType: 'Gateway',
              RouteTableIds: checkIds(stage, 'routeTableIds', config.routeTableIds, 'rtb'),
            },
          }
        : {
            Type: 'AWS::EC2::VPCEndpoint',
            Properties: {
              ...common,
              VpcEndpointType: 'Interface',
              // The SDK's default endpoint names resolve to the endpoint inside the VPC.
              PrivateDnsEnabled: true,
              SubnetIds: subnets,
              SecurityGroupIds: endpointGroups,
            },
          };
  }
  return { Resources };
}

module.exports = { ENDPOINT_SERVICES, endpoints, securityGroupIds, subnetIds };
