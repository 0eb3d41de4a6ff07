// Entry of `npm run local -- <command>`: acts on the stack `npm start` is running, through `.local/stack.json`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { invokeFunction } from './offline.js';
import {
  asgState,
  idleInstances,
  launch,
  redeliver,
  sendWebhook,
  terminate,
  webhookCurl,
  whatFrontendsServe,
} from './operations.js';
import { describeReconcile, describeRun, describeServes, rel } from './print.js';
import { cliEnv, REPO_ROOT, readStackState, type StackState } from './stack-state.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const USAGE = `usage: npm run local -- <command>
  launch [N]            N (default 1) idle instances enter the ASG; their launch events reach the lifecycle function
                        as SQS batches of up to 10, as the stage's queue delivers them
  terminate <id>…       those InService instances leave; their terminate events go the same way
  redeliver <token>     the event of that lifecycle action again, as SQS delivers a record twice (tokens: \`calls\`)
  webhook '<json>'      POST the body to the webhook, signed with the stack's secret (add --print-curl for a curl line)
  reconcile             invoke the reconcile function now (it also runs every 15 s)
  status                the ASG stand-in's view, what each frontend serves, then \`slot-sync status\`
  calls                 every call the Auto Scaling stand-in answered`;

async function showServes(state: StackState): Promise<void> {
  console.log('frontends now:');
  console.log(describeServes(await whatFrontendsServe(state), state));
}

async function status(state: StackState): Promise<number> {
  const { instances } = await asgState(state);
  const group = new Map(instances.map((i) => [i.id, i.state]));
  console.log(`ASG ${state.backend.asg}:`);
  for (const i of state.instances)
    console.log(`  ${i.id} ${i.address}:${state.backend.port} ${group.get(i.id) ?? 'not in group'}`);
  await showServes(state);
  const cli = join(REPO_ROOT, 'bin', 'slot-sync.mjs');
  if (!existsSync(cli)) return 0;
  console.log('\n$ slot-sync status');
  const run = spawnSync(process.execPath, [cli, 'status'], {
    stdio: 'inherit',
    env: { ...process.env, ...cliEnv(state) },
  });
  return run.status ?? 1;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const state = readStackState();
  switch (command) {
    case 'launch': {
      const count = rest[0] === undefined ? 1 : Number(rest[0]);
      if (!Number.isInteger(count) || count < 1) throw new Error(`launch wants a count ≥ 1, not ${rest[0]}`);
      const runs = await launch(state, count);
      for (const run of runs) console.log(describeRun(run, state));
      await showServes(state);
      return runs.every((r) => !r.delivery.deadLettered) ? 0 : 1;
    }
    case 'terminate': {
      if (rest.length === 0)
        throw new Error(`terminate which instance? idle now: ${(await idleInstances(state)).join(', ')}`);
      const runs = await terminate(state, rest);
      for (const run of runs) console.log(describeRun(run, state));
      await showServes(state);
      return runs.every((r) => !r.delivery.deadLettered) ? 0 : 1;
    }
    case 'redeliver': {
      if (!rest[0]) throw new Error('redeliver which token? `npm run local -- calls` lists them');
      const run = await redeliver(state, rest[0]);
      console.log(describeRun(run, state));
      console.log(
        `  CompleteLifecycleAction accepted for this token: ${run.accepted} time${run.accepted === 1 ? '' : 's'} in all (the function's log says what it decided: ${rel(state.logFile)})`,
      );
      return run.delivery.deadLettered ? 1 : 0;
    }
    case 'webhook': {
      const body = rest.find((a) => !a.startsWith('--'));
      if (!body) throw new Error('webhook wants a JSON body, e.g. \'{"action":"drain",…}\'');
      if (rest.includes('--print-curl')) {
        console.log(webhookCurl(state, body));
        return 0;
      }
      const res = await sendWebhook(state, body);
      console.log(`HTTP ${res.status} ${res.body}`);
      return res.status < 300 ? 0 : 1;
    }
    case 'reconcile': {
      const result = await invokeFunction(state.endpoints.lambda, state.functions.reconcile, { source: 'local.cli' });
      console.log(describeReconcile(result) ?? 'reconcile: nothing to fix');
      return result.ok ? 0 : 1;
    }
    case 'status':
      return status(state);
    case 'calls':
      for (const c of (await asgState(state)).calls) {
        const token = c.params.LifecycleActionToken ? ` token ${c.params.LifecycleActionToken}` : '';
        const what = c.params.LifecycleActionResult ? ` ${c.params.LifecycleActionResult}` : '';
        console.log(
          `${c.at} ${c.action}${what}${token} ${c.params.InstanceId ?? ''} → ${c.status}${c.error ? ` ${c.error}` : ''}`,
        );
      }
      return 0;
    default:
      console.error(USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`local: ${error.message}`);
    process.exit(1);
  },
);
