import type { Command } from 'commander';
import type { ConnectionMessage, PrefixWatchMessage, Watch } from '@flux/client';
import { UsageError } from '../exit-codes.js';
import { positiveInteger } from '../json-input.js';
import { action } from './define.js';

/** A message of the server (not the client's own about the connection). */
type ServerMessage = Exclude<PrefixWatchMessage, ConnectionMessage>;

/** `10:30:45.123` of an ISO timestamp (the local day is rarely what one watches for). */
const clock = (iso: string): string => (Number.isNaN(Date.parse(iso)) ? iso : new Date(iso).toISOString().slice(11, 23));

/** One line for an entity or metrics message; undefined for those about the subscription (see subscriptionNote). */
export function messageText(message: ServerMessage): string | undefined {
  switch (message.type) {
    case 'entity_snapshot':
      return `${message.entity === null ? '' : `${clock(message.entity.lastUpdated)}  `}${message.entity_id}  ${message.entity === null ? '(gone)' : `(snapshot) ${JSON.stringify(message.entity.properties)}`}`;
    case 'state_update':
      return `${clock(message.timestamp)}  ${message.entity_id}  ${message.property} = ${message.value === null ? '(removed)' : JSON.stringify(message.value)}`;
    case 'entity_deleted':
      return `${clock(message.timestamp)}  ${message.entity_id}  (deleted)`;
    case 'metrics_update':
      return `${clock(message.timestamp)}  [metrics] entities=${message.entities.total} events=${message.events.total} rate=${message.events.rate_per_second}/s connections=${message.websocket.connections} publishers=${message.publishers.active}`;
    default:
      return undefined;
  }
}

/** What a prefix subscription's own messages tell a person (on stderr). */
function subscriptionNote(message: ServerMessage, url: string): string | undefined {
  switch (message.type) {
    case 'subscribed':
      return `watching ${url}: ${message.prefix} is live${message.since.length === 0 ? '' : ` (resume with --since ${message.since.join(',')})`}`;
    case 'resync_required':
      return `${message.prefix}: ${message.reason ?? 'resync required'}; taking a snapshot`;
    case 'subscription_error':
      return `${message.prefix}: ${message.error}; following every update instead`;
    default:
      return undefined;
  }
}

const ENTITY_MESSAGES = new Set(['state_update', 'entity_deleted', 'entity_snapshot']);

/** `prefix`: a prefix watch, which says it is watching once its subscription is live. */
function connectionText(message: ConnectionMessage, url: string, prefix: string | undefined): string {
  if (message.state === 'open')
    return message.reconnected !== true
      ? prefix === undefined
        ? `watching ${url}`
        : `connected to ${url}; subscribing to ${prefix}`
      : message.resuming === true
        ? `reconnected to ${url}; resuming where it left off`
        : `reconnected to ${url} (updates sent meanwhile were missed)`;
  return `connection lost: ${message.reason ?? 'closed'}; reconnecting in ${((message.delayMs ?? 0) / 1000).toFixed(1)} s (attempt ${message.attempt ?? 1})`;
}

export function registerWatchCommand(program: Command): void {
  action<{ prefix?: string; snapshot?: boolean; since?: string; metrics?: boolean; count?: string }>(
    program
      .command('watch')
      .description('Follow live changes: of the given ids, of ids under --prefix, or of every entity')
      .argument('[ENTITY_ID...]', 'entities to follow')
      .option('--prefix <PREFIX>', 'follow ids starting with PREFIX (resumes after reconnections without losing updates)')
      .option('--snapshot', 'with --prefix: first the current state of every entity under it')
      .option('--since <TOKENS>', 'with --prefix: first every change after these positions (comma-separated, as printed when live)')
      .option('--metrics', 'also show the metrics Flux sends every 2 seconds')
      .option('--count <N>', 'exit after N entity updates')
      .addHelpText(
        'after',
        '\nOne line per changed property on a terminal; NDJSON (one message per line) with --json or when\nstdout is not a terminal. Reconnects by itself; connection notes go to stderr. Ctrl-C stops.',
      ),
    async ({ client, output, url }, ids, options) => {
      const limit = options.count === undefined ? Number.POSITIVE_INFINITY : positiveInteger(options.count, '--count');
      if ((options.snapshot === true || options.since !== undefined) && options.prefix === undefined) {
        throw new UsageError('--snapshot and --since need --prefix');
      }
      if (options.snapshot === true && options.since !== undefined) throw new UsageError('give --snapshot or --since, not both');
      const watch: Watch<PrefixWatchMessage> = client.watch({
        ...(ids.length === 0 ? {} : { ids }),
        ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
        ...(options.snapshot === true ? { snapshot: true } : {}),
        ...(options.since === undefined ? {} : { since: options.since.split(',').filter((token) => token !== '') }),
        metrics: options.metrics === true,
      });
      const stop = (): void => watch.close();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        let seen = 0;
        for await (const message of watch) {
          if (message.type === 'connection') {
            output.note(connectionText(message, url, options.prefix));
            continue;
          }
          const note = subscriptionNote(message, url);
          if (note !== undefined) output.note(note);
          const text = output.json ? JSON.stringify(message) : messageText(message);
          if (text !== undefined) await output.line(text);
          if (ENTITY_MESSAGES.has(message.type) && ++seen >= limit) break;
        }
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        watch.close();
      }
    },
  );
}
