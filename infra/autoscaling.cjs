// Auto Scaling pieces of the stack that need one entry per ASG, generated at package time from the stage's params.
// CloudFormation cannot loop over a list without the AWS::LanguageExtensions transform (which `deploy` would need
// CAPABILITY_AUTO_EXPAND for), so serverless.yml resolves these through `${file(infra/autoscaling.cjs):…}`.
'use strict';

const { listParam } = require('./params.cjs');

const NAME = /^[A-Za-z0-9._:/-]{1,255}$/;

async function groups(resolveVariable, param) {
  const list = await listParam(resolveVariable, param);
  for (const name of list) {
    if (typeof name !== 'string' || !NAME.test(name)) throw new Error(`param ${param}: invalid ASG name ${JSON.stringify(name)}`);
  }
  return list;
}

const groupArn = (name) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:autoscaling:\${AWS::Region}:\${AWS::AccountId}:autoScalingGroup:*:autoScalingGroupName/${name}`,
});

/** The ARNs of the mapped ASGs: the only groups whose lifecycle actions the functions may complete. */
async function groupArns({ resolveVariable }) {
  return (await groupNames(resolveVariable)).map(groupArn);
}

/** Launch and terminate hooks for each ASG in `lifecycleHookGroups` (none when the list is empty). */
async function lifecycleHooks({ resolveVariable }) {
  const mapped = await groups(resolveVariable, 'autoScalingGroups');
  const names = await groups(resolveVariable, 'lifecycleHookGroups');
  const launchTimeout = Number(await resolveVariable('param:launchHookTimeoutSeconds'));
  const terminateTimeout = Number(await resolveVariable('param:terminateHookTimeoutSeconds'));
  const Resources = {};
  names.forEach((name, i) => {
    // Events from a group the rule does not match would never reach the function, and the hook would just time out.
    if (!mapped.includes(name)) throw new Error(`param lifecycleHookGroups: ${name} is not in autoScalingGroups`);
    const id = `${name.replace(/[^A-Za-z0-9]/g, '')}${i}`;
    Resources[`LaunchLifecycleHook${id}`] = hook(name, 'launch', 'autoscaling:EC2_INSTANCE_LAUNCHING', launchTimeout, 'ABANDON');
    Resources[`TerminateLifecycleHook${id}`] = hook(name, 'terminate', 'autoscaling:EC2_INSTANCE_TERMINATING', terminateTimeout, 'CONTINUE');
  });
  return { Resources };
}

// Launch defaults to ABANDON: an instance nobody registered is better replaced. Terminate defaults to CONTINUE:
// the instance goes either way, and reconcile frees its slot.
function hook(group, kind, transition, timeout, defaultResult) {
  return {
    Type: 'AWS::AutoScaling::LifecycleHook',
    Properties: {
      AutoScalingGroupName: group,
      LifecycleHookName: `slot-sync-${kind}`,
      LifecycleTransition: transition,
      HeartbeatTimeout: timeout,
      DefaultResult: defaultResult,
    },
  };
}

/** The mapped ASG names (the Auto Scaling rule's filter), validated; at least one. */
async function groupNames(resolveVariable) {
  const names = await groups(resolveVariable, 'autoScalingGroups');
  if (names.length === 0) throw new Error('param autoScalingGroups: list at least one ASG');
  return names;
}

module.exports = { groupArns, groupNames, lifecycleHooks };
