import type { Command } from 'commander';
import type { ConnectionMessage, ServerMessage } from '@flux/client';
import { positiveInteger } from '../json-input.js';
import { action } from './define.js';

/** `10:30:45.123` of an ISO timestamp (the local day is rarely what one watches for). */
const clock = (iso: string): string => (Number.isNaN(Date.parse(iso)) ? iso : new Date(iso).toISOString().slice(11, 23));

export function messageText(message: ServerMessage): string {
  switch (message.type) {
    case 'state_update':
      return `${clock(message.timestamp)}  ${message.entity_id}  ${message.property} = ${message.value === null ? '(removed)' : JSON.stringify(message.value)}`;
    case 'entity_deleted':
      return `${clock(message.timestamp)}  ${message.entity_id}  (deleted)`;
    case 'metrics_update':
      return `${clock(message.timestamp)}  [metrics] entities=${message.entities.total} events=${message.events.total} rate=${message.events.rate_per_second}/s connections=${message.websocket.connections} publishers=${message.publishers.active}`;
  }
}

function connectionText(message: ConnectionMessage, url: string): string {
  if (message.state === 'open')
    return message.reconnected === true ? `reconnected to ${url} (updates sent meanwhile were missed)` : `watching ${url}`;
  return `connection lost: ${message.reason ?? 'closed'}; reconnecting in ${((message.delayMs ?? 0) / 1000).toFixed(1)} s (attempt ${message.attempt ?? 1})`;
}

export function registerWatchCommand(program: Command): void {
  action<{ prefix?: string; metrics?: boolean; count?: string }>(
    program
      .command('watch')
      .description('Follow live changes: of the given ids, of ids under --prefix, or of every entity')
      .argument('[ENTITY_ID...]', 'entities to follow')
      .option('--prefix <PREFIX>', 'follow ids starting with PREFIX')
      .option('--metrics', 'also show the metrics Flux sends every 2 seconds')
      .option('--count <N>', 'exit after N entity updates')
      .addHelpText(
        'after',
        '\nOne line per changed property on a terminal; NDJSON (one message per line) with --json or when\nstdout is not a terminal. Reconnects by itself; connection notes go to stderr. Ctrl-C stops.',
      ),
    async ({ client, output, url }, ids, options) => {
      const limit = options.count === undefined ? Number.POSITIVE_INFINITY : positiveInteger(options.count, '--count');
      const watch = client.watch({
        ...(ids.length === 0 ? {} : { ids }),
        ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
        metrics: options.metrics === true,
      });
      const stop = (): void => watch.close();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        let seen = 0;
        for await (const message of watch) {
          if (message.type === 'connection') {
            output.note(connectionText(message, url));
            continue;
          }
          await output.line(output.json ? JSON.stringify(message) : messageText(message));
          if (message.type !== 'metrics_update' && ++seen >= limit) break;
        }
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        watch.close();
      }
    },
  );
}
