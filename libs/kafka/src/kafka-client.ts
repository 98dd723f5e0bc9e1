import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, logLevel, type KafkaConfig, type KafkaMessage, type LogEntry, type logCreator, type SASLOptions } from 'kafkajs';
import type { KafkaSecuritySettings, LogRecord } from '@flux/core';

type LogMethod = (fields: object, message?: string) => void;

/**
 * Where kafkajs' own log lines go: a pino logger fits (fields first, message second). kafkajs
 * is chatty at info level (every join, every disconnect), so only warn and error reach it
 * unless `logLevel` asks for more.
 */
export interface KafkaLogSink {
  readonly error: LogMethod;
  readonly warn: LogMethod;
  readonly info: LogMethod;
  readonly debug: LogMethod;
}

export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  readonly clientId?: string;
  readonly logger?: KafkaLogSink;
  /** Lowest kafkajs level passed on to the logger; default 'warn'. */
  readonly logLevel?: KafkaLogLevel;
  /** TCP connect timeout per broker connection; default 3000 ms. */
  readonly connectionTimeoutMs?: number;
  /** Timeout of a single request; default 30000 ms. */
  readonly requestTimeoutMs?: number;
  /** TLS and SASL towards the brokers; default: plaintext without authentication. */
  readonly security?: KafkaSecuritySettings;
}

const LEVELS: Record<KafkaLogLevel, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

/** Without a logger, warnings and errors still surface: one JSON line each on stderr. */
export const defaultKafkaLogSink: KafkaLogSink = (() => {
  const write =
    (level: string): LogMethod =>
    (fields, message) => {
      process.stderr.write(`${JSON.stringify({ level, time: Date.now(), ...fields, msg: message })}\n`);
    };
  return { error: write('error'), warn: write('warn'), info: write('info'), debug: write('debug') };
})();

/** Bridges kafkajs' logCreator to a pino-style logger (fields first, message second). */
export function kafkaLogCreator(sink: KafkaLogSink): logCreator {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = log;
      const fields = { module: 'kafkajs', namespace, ...extra };
      switch (level) {
        case logLevel.ERROR:
          sink.error(fields, message);
          break;
        case logLevel.WARN:
          sink.warn(fields, message);
          break;
        case logLevel.INFO:
          sink.info(fields, message);
          break;
        default:
          sink.debug(fields, message);
      }
    };
}

export function createKafkaClient(options: KafkaClientOptions): Kafka {
  if (options.brokers.length === 0) throw new RangeError('at least one Kafka broker is required');
  return new Kafka({
    clientId: options.clientId ?? 'flux',
    brokers: [...options.brokers],
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    logLevel: LEVELS[options.logLevel ?? 'warn'],
    logCreator: kafkaLogCreator(options.logger ?? defaultKafkaLogSink),
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5_000 },
    ...securityConfig(options.security),
  });
}

/** kafkajs' `ssl` and `sasl` settings for the configured security. */
export function securityConfig(security: KafkaSecuritySettings | undefined): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  if (security === undefined) return {};
  const { tls, sasl } = security;
  return {
    ...(tls === undefined ? {} : { ssl: { ...tls } }),
    ...(sasl === undefined ? {} : { sasl: saslOptions(sasl) }),
  };
}

function saslOptions(sasl: NonNullable<KafkaSecuritySettings['sasl']>): SASLOptions {
  if (sasl.mechanism !== 'oauthbearer') return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as SASLOptions;
  // Read at every (re-)authentication: whatever keeps the token fresh only rewrites the file.
  return { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: (await readFile(sasl.tokenFile, 'utf8')).trim() }) };
}

/** A start-up failure in operator terms: which credentials or certificates Kafka refused. */
export function describeConnectionFailure(error: unknown, security: KafkaSecuritySettings | undefined): string {
  const message = errorMessage(error);
  const name = error instanceof Error ? error.name : '';
  const sasl = security?.sasl;
  if (name === 'KafkaJSSASLAuthenticationError' && sasl !== undefined) {
    const who = sasl.mechanism === 'oauthbearer' ? `the token in ${sasl.tokenFile}` : `user "${sasl.username}"`;
    return `Kafka refused the SASL ${sasl.mechanism.toUpperCase()} authentication of ${who} (check FLUX_KAFKA_SASL_*): ${message}`;
  }
  if (/certificate|SSL|TLS|EPROTO/i.test(message) || /certificate/i.test(errorMessage(causeOf(error)))) {
    return `TLS to Kafka failed (check FLUX_KAFKA_TLS and FLUX_KAFKA_TLS_*_FILE against the brokers' listener): ${message}${causeText(error)}`;
  }
  // Anything else (a refused connection, a broker that hung up during the handshake): say how it was tried.
  const tls = security?.tls === undefined ? 'TLS off' : 'TLS on';
  return `${message}${causeText(error)} [${tls}, SASL ${sasl === undefined ? 'off' : sasl.mechanism.toUpperCase()}]`;
}

const causeOf = (error: unknown): unknown =>
  error instanceof Error ? (error.cause ?? (error as { originalError?: unknown }).originalError) : undefined;
const causeText = (error: unknown): string => {
  const cause = causeOf(error);
  return cause === undefined ? '' : ` (${errorMessage(cause)})`;
};

/** A fetched Kafka message as the port's record (UTF-8 key and value, epoch-ms timestamp). */
export function toLogRecord(partition: number, message: KafkaMessage): LogRecord {
  return {
    partition,
    offset: Number(message.offset),
    key: message.key?.toString('utf8') ?? '',
    value: message.value?.toString('utf8') ?? '',
    timestamp: Number(message.timestamp),
  };
}

export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Whether kafkajs marked an error retriable (leader elections, metadata not yet propagated). */
export const isRetriable = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { retriable?: unknown }).retriable === true;

/**
 * Runs `call` until it succeeds, again while it fails with an error kafkajs marked retriable,
 * at most `attempts` times, waiting `backoffMs` × the attempt number in between. For admin
 * requests kafkajs does not retry itself (ListOffsets, or CreateTopics around a controller
 * election); the last error is thrown as it is.
 */
export async function retryWhileRetriable<T>(call: () => Promise<T>, attempts: number, backoffMs: number): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isRetriable(error) || attempt >= attempts) throw error;
      await delay(backoffMs * attempt);
    }
  }
}
