// Throwaway X.509 material for TLS tests, made with the openssl CLI: a CA, a server cert for 127.0.0.1, client certs.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** PEM texts and file paths of one test PKI (plus a client cert from an unrelated "rogue" CA). */
export interface TestPki {
  readonly caPath: string;
  /** Server certificate + key in one PEM file, as HAProxy's `crt` wants it. */
  readonly serverPemPath: string;
  readonly ca: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly rogueCert: string;
  readonly rogueKey: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(dir: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
  ]);
}

function makeLeaf(dir: string, name: string, ca: string, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
  openssl(dir, ['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ]);
}

/** Generates the PKI into `dir` (requires `openssl` on PATH). */
export function makeTestPki(dir: string): TestPki {
  makeCa(dir, 'ca');
  makeCa(dir, 'rogue-ca');
  makeLeaf(dir, 'server', 'ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  makeLeaf(dir, 'client', 'ca', 'extendedKeyUsage=clientAuth');
  makeLeaf(dir, 'rogue', 'rogue-ca', 'extendedKeyUsage=clientAuth');
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  writeFileSync(join(dir, 'server.pem'), read('server.crt') + read('server.key'));
  return {
    caPath: join(dir, 'ca.pem'),
    serverPemPath: join(dir, 'server.pem'),
    ca: read('ca.pem'),
    clientCert: read('client.crt'),
    clientKey: read('client.key'),
    rogueCert: read('rogue.crt'),
    rogueKey: read('rogue.key'),
  };
}
