// Deployment test data: every action each function's role may perform, and on what (issue 12, item 1).
// Resources are written as the template states them: `GetAtt:Id.Attr`, `Sub:<text>` or `*`.

// biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub text, as the template holds it
const ACCOUNT = '${AWS::Region}:${AWS::AccountId}';
const parameter = (name: string) =>
  `Sub:arn:\${AWS::Partition}:ssm:${ACCOUNT}:parameter/haproxy-slot-sync/test/${name}`;
export const CONFIG_ARN = parameter('config');
export const SECRET_ARN = parameter('webhook-secret');
export const KMS_KEYS = `Sub:arn:\${AWS::Partition}:kms:${ACCOUNT}:key/*`;
const ASG = `Sub:arn:\${AWS::Partition}:autoscaling:${ACCOUNT}:autoScalingGroup:*:autoScalingGroupName/web-asg`;
const ENIS = `Sub:arn:\${AWS::Partition}:ec2:${ACCOUNT}:*/*`;
const SLOTS = 'GetAtt:SlotTable.Arn';
const IDEMPOTENCY = 'GetAtt:IdempotencyTable.Arn';

/** What every function needs: its log group, X-Ray, and the VPC network interfaces Lambda manages with its role. */
const baseline = (logGroup: string): Record<string, string[]> => ({
  'logs:CreateLogStream': [`GetAtt:${logGroup}.Arn`],
  'logs:PutLogEvents': [`GetAtt:${logGroup}.Arn`],
  'xray:PutTraceSegments': ['*'],
  'xray:PutTelemetryRecords': ['*'],
  'ec2:DescribeNetworkInterfaces': ['*'],
  'ec2:DescribeSubnets': ['*'],
  'ec2:CreateNetworkInterface': [ENIS],
  'ec2:DeleteNetworkInterface': [ENIS],
  'ec2:AssignPrivateIpAddresses': [ENIS],
  'ec2:UnassignPrivateIpAddresses': [ENIS],
});

const slotTable = (extra: string[] = []) => ({
  'dynamodb:GetItem': [SLOTS, ...extra],
  'dynamodb:BatchGetItem': [SLOTS],
  'dynamodb:PutItem': [SLOTS, ...extra],
  'dynamodb:UpdateItem': [SLOTS, ...extra],
  'dynamodb:DeleteItem': [SLOTS, ...extra],
  'dynamodb:Query': [SLOTS],
  'dynamodb:ConditionCheckItem': [SLOTS],
});

/** Function → action → resources. Anything not listed here must not be granted. */
export const EXPECTED_GRANTS: Record<'lifecycle' | 'webhook' | 'reconcile', Record<string, string[]>> = {
  lifecycle: {
    ...baseline('LifecycleLogGroup'),
    'sqs:ReceiveMessage': ['GetAtt:LifecycleEventsQueue.Arn'],
    'sqs:DeleteMessage': ['GetAtt:LifecycleEventsQueue.Arn'],
    'sqs:GetQueueAttributes': ['GetAtt:LifecycleEventsQueue.Arn'],
    ...slotTable([IDEMPOTENCY]),
    'ssm:GetParameters': [CONFIG_ARN],
    'kms:Decrypt': [KMS_KEYS],
    'autoscaling:CompleteLifecycleAction': [ASG],
    'autoscaling:RecordLifecycleActionHeartbeat': [ASG],
    'ec2:DescribeInstances': ['*'],
  },
  webhook: {
    ...baseline('WebhookLogGroup'),
    ...slotTable([IDEMPOTENCY]),
    'ssm:GetParameters': [CONFIG_ARN, SECRET_ARN],
    'kms:Decrypt': [KMS_KEYS],
  },
  reconcile: {
    ...baseline('ReconcileLogGroup'),
    ...slotTable(),
    'ssm:GetParameters': [CONFIG_ARN],
    'kms:Decrypt': [KMS_KEYS],
    'autoscaling:CompleteLifecycleAction': [ASG],
    'autoscaling:RecordLifecycleActionHeartbeat': [ASG],
    'autoscaling:DescribeAutoScalingGroups': ['*'],
    'ec2:DescribeInstances': ['*'],
  },
};

/** The parameters whose encryption context each role's kms:Decrypt is limited to. */
export const DECRYPTS_FOR = {
  lifecycle: [CONFIG_ARN],
  webhook: [CONFIG_ARN, SECRET_ARN],
  reconcile: [CONFIG_ARN],
};

/** The operator CLI's managed policies: policy → action → resources. Anything not listed here must not be granted. */
export const EXPECTED_OPERATOR_GRANTS: Record<'OperatorReadOnlyPolicy' | 'OperatorPolicy', Record<string, string[]>> = {
  OperatorReadOnlyPolicy: {
    'ssm:GetParameter': [CONFIG_ARN],
    'kms:Decrypt': [KMS_KEYS],
    'dynamodb:Query': [SLOTS],
  },
  OperatorPolicy: {
    'ssm:GetParameter': [CONFIG_ARN],
    'kms:Decrypt': [KMS_KEYS],
    'dynamodb:GetItem': [SLOTS],
    'dynamodb:BatchGetItem': [SLOTS],
    'dynamodb:Query': [SLOTS],
    'dynamodb:PutItem': [SLOTS],
    'dynamodb:UpdateItem': [SLOTS],
    'dynamodb:DeleteItem': [SLOTS],
    'autoscaling:CompleteLifecycleAction': [ASG],
    'autoscaling:RecordLifecycleActionHeartbeat': [ASG],
  },
};
