import { execFile, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM files of a throwaway CA, a server certificate for 127.0.0.1 / localhost, and a client certificate. */
export interface TestPki {
  readonly caFile: string;
  readonly serverCertFile: string;
  /** Unencrypted PKCS#8 key. */
  readonly serverKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
}

/** Commands (of `tools`) not on PATH, for suites that start servers of their own. */
export function missingCommands(tools: readonly string[]): string[] {
  return tools.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
}

/** Makes a CA and two certificates it signs (valid two days) with openssl, in `dir`. */
export async function makeTestPki(dir: string): Promise<TestPki> {
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const days = ['-days', '2'];
  await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', ...days, '-subj', '/CN=flux-test-ca');
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const [name, cn] of [
    ['server', 'localhost'],
    ['client', 'flux-client'],
  ] as const) {
    await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    await openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      ...days,
      '-extfile',
      'san.ext',
    );
  }
  return {
    caFile: join(dir, 'ca.pem'),
    serverCertFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client.key'),
  };
}

/** The server key followed by its certificate: the PEM keystore Kafka reads. */
export async function writePemKeystore(pki: TestPki, file: string): Promise<void> {
  await writeFile(file, (await readFile(pki.serverKeyFile, 'utf8')) + (await readFile(pki.serverCertFile, 'utf8')));
}
