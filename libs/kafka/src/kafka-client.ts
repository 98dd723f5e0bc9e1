import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, logLevel, type KafkaMessage, type LogEntry, type logCreator } from 'kafkajs';
import type { LogRecord } from '@flux/core';

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
  });
}

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
