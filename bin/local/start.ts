// Entry of `npm start`: starts the local stack, prints where everything is, stops it all on Ctrl-C (twice = force).
import { banner, describeReconcile } from './print.js';
import { type LocalStack, startStack } from './stack.js';

// The SDK's node-20 deprecation notice would bury the banner; the handlers get the same switch through awsEnv().
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const port = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
const log = (line: string) => console.log(`[local] ${line}`);
const started = Date.now();

let stack: LocalStack | undefined;
let signals = 0;
let firstSignalAt = 0;
const shutdown = (signal: NodeJS.Signals) => {
  // npm, sh and tsx relay the terminal's signal too: copies within a second are the same Ctrl-C, not a second one.
  if (signals > 0 && Date.now() - firstSignalAt < 1_000) return;
  signals += 1;
  firstSignalAt ||= Date.now();
  if (signals > 1) {
    log(`${signal} again: killing everything now`);
    stack?.killNow();
    process.exit(1);
  }
  // During startup the stack is stopped as soon as startStack returns (below).
  if (!stack) return log(`${signal}: stopping once startup has finished (Ctrl-C again to force)…`);
  log(`${signal}: stopping (Ctrl-C again to force)…`);
  stack.stop().then(
    () => {
      log('stopped; nothing left running');
      process.exit(0);
    },
    (error: Error) => {
      console.error(`[local] stop failed: ${error.message}`);
      stack?.killNow();
      process.exit(1);
    },
  );
};
// Installed before anything starts, so no signal can end this process while children it spawned keep running.
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

// Ports can be moved with env vars (e.g. LOCAL_FRONTEND_PORTS=9081,9082); taken ones are replaced by free ones.
stack = await startStack({
  frontendPorts: process.env.LOCAL_FRONTEND_PORTS?.split(',').map(Number),
  httpPort: port('LOCAL_HTTP_PORT'),
  lambdaPort: port('LOCAL_LAMBDA_PORT'),
  instancePort: port('LOCAL_INSTANCE_PORT'),
  drainSeconds: port('LOCAL_DRAIN_SECONDS'),
  log,
  onReconcile: (result) => {
    const line = describeReconcile(result);
    if (line) log(line);
  },
}).catch((error: Error) => {
  // A Ctrl-C during startup also reaches the children (same process group), so startup fails; that is the stop asked for.
  if (signals > 0) log('interrupted during startup; everything it had started is stopped');
  else console.error(`[local] could not start the stack: ${error.message}`);
  process.exit(signals > 0 ? 0 : 1);
});

if (signals > 0) {
  signals = 0;
  shutdown('SIGINT');
} else {
  // A first pass seeds the slot table from the hosts and proves the wiring (SSM → config, DynamoDB, both sockets).
  const first = await stack
    .reconcileNow()
    .catch((error: Error) => ({ ok: false, payload: { errorMessage: error.message }, functionError: 'invoke' }));
  if (!first.ok) log(describeReconcile(first) ?? 'first reconcile failed');
  console.log(banner(stack.state, Date.now() - started));
}
