/**
 * Certificates for the sandbox: one throwaway CA, one serving certificate for 127.0.0.1/localhost
 * shared by every API server, and the service-account signing key pair the API server requires.
 * Made with the openssl command (argv vectors, no shell).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxError } from './errors.js';

export interface SandboxCerts {
  readonly caCert: string;
  readonly servingCert: string;
  readonly servingKey: string;
  readonly saKey: string;
  readonly saPub: string;
}

function openssl(args: readonly string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new SandboxError(
      'SANDBOX_START_FAILED',
      `openssl ${args[0]} failed: ${err.stderr?.toString().trim() || err.message}`,
      'the sandbox needs the openssl command',
    );
  }
}

export function makeCerts(dir: string): SandboxCerts {
  const p = (f: string) => join(dir, f);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', '/CN=topoforge-sandbox-ca'], dir);
  writeFileSync(p('serving.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'serving.key', '-out', 'serving.csr', '-subj', '/CN=kube-apiserver'], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'serving.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'serving.crt',
      '-days',
      '30',
      '-extfile',
      'serving.ext',
    ],
    dir,
  );
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key'], dir);
  openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  return { caCert: p('ca.crt'), servingCert: p('serving.crt'), servingKey: p('serving.key'), saKey: p('sa.key'), saPub: p('sa.pub') };
}
