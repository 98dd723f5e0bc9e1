import { readFileSync } from 'node:fs';
import type { EnvReader } from './settings.js';

/** PEM material for a TLS client, read from files at start-up. */
export interface TlsMaterial {
  /** CA bundle that signs the server's certificate; absent: the system's trusted CAs. */
  readonly ca?: string;
  /** Client certificate and key, for servers that authenticate clients by certificate (mTLS). */
  readonly cert?: string;
  readonly key?: string;
}

export const KAFKA_SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'] as const;

export type KafkaSaslSettings =
  | { readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; readonly username: string; readonly password: string }
  /** The token file is read again at every authentication, so a sidecar can keep it fresh. */
  | { readonly mechanism: 'oauthbearer'; readonly tokenFile: string };

/** How a process authenticates to Kafka and protects the connection. */
export interface KafkaSecuritySettings {
  /** TLS to the brokers (SSL or SASL_SSL listeners); undefined: plaintext. */
  readonly tls: TlsMaterial | undefined;
  readonly sasl: KafkaSaslSettings | undefined;
}

function readFile(read: EnvReader, name: string): string | undefined {
  const path = read.optionalString(name);
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    read.problems.push(`${name} names a file that cannot be read (${path}: ${reason})`);
    return undefined;
  }
}

/**
 * TLS material of `<prefix>_CA_FILE`, `_CERT_FILE` and `_KEY_FILE`; a certificate needs its
 * key and the other way round. Undefined when none is set.
 */
export function readTlsMaterial(read: EnvReader, prefix: string): TlsMaterial | undefined {
  const ca = readFile(read, `${prefix}_CA_FILE`);
  const cert = readFile(read, `${prefix}_CERT_FILE`);
  const key = readFile(read, `${prefix}_KEY_FILE`);
  const certSet = read.optionalString(`${prefix}_CERT_FILE`) !== undefined;
  const keySet = read.optionalString(`${prefix}_KEY_FILE`) !== undefined;
  if (certSet !== keySet) read.problems.push(`${prefix}_CERT_FILE and ${prefix}_KEY_FILE must be set together`);
  if (ca === undefined && cert === undefined && key === undefined) return undefined;
  return { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) };
}

/** A secret given either inline (`NAME`) or as a mounted file (`NAME_FILE`, trailing newline dropped). */
export function readSecret(read: EnvReader, name: string): string | undefined {
  const inline = read.optionalString(name);
  const file = readFile(read, `${name}_FILE`);
  if (inline !== undefined && read.optionalString(`${name}_FILE`) !== undefined) {
    read.problems.push(`${name} and ${name}_FILE must not both be set`);
  }
  return inline ?? file?.replace(/\r?\n$/, '');
}

function readKafkaSasl(read: EnvReader): KafkaSaslSettings | undefined {
  const raw = read.optionalString('FLUX_KAFKA_SASL_MECHANISM')?.toLowerCase();
  const username = read.optionalString('FLUX_KAFKA_SASL_USERNAME');
  const password = readSecret(read, 'FLUX_KAFKA_SASL_PASSWORD');
  const tokenFile = read.optionalString('FLUX_KAFKA_SASL_OAUTHBEARER_TOKEN_FILE');
  if (raw === undefined) {
    if (username !== undefined || password !== undefined || tokenFile !== undefined) {
      read.problems.push('FLUX_KAFKA_SASL_MECHANISM is required when SASL credentials are set');
    }
    return undefined;
  }
  const mechanism = KAFKA_SASL_MECHANISMS.find((m) => m === raw);
  if (mechanism === undefined) {
    read.problems.push(`FLUX_KAFKA_SASL_MECHANISM must be one of ${KAFKA_SASL_MECHANISMS.join(', ')}, got "${raw}"`);
    return undefined;
  }
  if (mechanism === 'oauthbearer') {
    if (tokenFile === undefined) read.problems.push('FLUX_KAFKA_SASL_OAUTHBEARER_TOKEN_FILE is required with FLUX_KAFKA_SASL_MECHANISM=oauthbearer');
    else readFile(read, 'FLUX_KAFKA_SASL_OAUTHBEARER_TOKEN_FILE');
    return { mechanism, tokenFile: tokenFile ?? '' };
  }
  if (username === undefined) read.problems.push(`FLUX_KAFKA_SASL_USERNAME is required with FLUX_KAFKA_SASL_MECHANISM=${mechanism}`);
  if (password === undefined) {
    read.problems.push(`FLUX_KAFKA_SASL_PASSWORD (or FLUX_KAFKA_SASL_PASSWORD_FILE) is required with FLUX_KAFKA_SASL_MECHANISM=${mechanism}`);
  }
  return { mechanism, username: username ?? '', password: password ?? '' };
}

/**
 * FLUX_KAFKA_TLS (default: on when a FLUX_KAFKA_TLS_*_FILE is set), its CA / client
 * certificate files, and FLUX_KAFKA_SASL_*.
 */
export function readKafkaSecurity(read: EnvReader): KafkaSecuritySettings {
  const material = readTlsMaterial(read, 'FLUX_KAFKA_TLS');
  const enabled = read.boolean('FLUX_KAFKA_TLS', material !== undefined);
  if (!enabled && material !== undefined) read.problems.push('FLUX_KAFKA_TLS_*_FILE are set but FLUX_KAFKA_TLS is false');
  return { tls: enabled ? (material ?? {}) : undefined, sasl: readKafkaSasl(read) };
}
