#!/usr/bin/env node
// Launcher of the operator CLI `slot-sync`: runs bin/cli/main.ts through tsx's ESM loader, so a clone needs no build.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// The repo's tsconfig, wherever the operator runs from (tsx would otherwise look in the working directory).
register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
// The SDK's nine-line notice about node 22 (its future releases; ours are pinned) would bury every one-line error.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('./cli/main.ts');
const code = await main(process.argv.slice(2));
// Exit once stdout has drained: nothing else may keep an operator's shell waiting (an SDK socket, a timer).
process.stdout.write('', () => process.exit(code));
