import type { Command } from 'commander';
import type { DisappearPolicy, Source, SourceAuth, SourceSpec } from '@flux/client';
import { CliFailure, ExitCode, UsageError } from '../exit-codes.js';
import { positiveInteger, readJsonArgument } from '../json-input.js';
import { table } from '../output.js';
import { action } from './define.js';

interface AddOptions {
  key: string;
  items?: string;
  prefix?: string;
  interval: string;
  properties?: string;
  auth?: string;
  token?: string;
  onDisappear?: string;
  paused?: boolean;
}

const sourcesText = ({ sources }: { sources: readonly Source[] }): string =>
  table(
    ['ID', 'NAME', 'STATUS', 'INTERVAL', 'ITEMS', 'LAST POLL', 'URL'],
    sources.map((source) => [
      source.id,
      source.name,
      source.status,
      `${source.poll_interval_seconds}s`,
      source.items_seen === null ? '-' : String(source.items_seen),
      source.last_poll ?? '-',
      source.url,
    ]),
  );

/** `bearer`, `basic`, `none` or `header:<Name>`. */
function authOf(text: string): SourceAuth {
  if (text === 'none' || text === 'bearer' || text === 'basic') return text;
  if (text.startsWith('header:') && text.length > 'header:'.length) return { header: text.slice('header:'.length) };
  throw new UsageError(`--auth must be none, bearer, basic or header:<Name>, got "${text}"`);
}

/** `keep`, `delete` or `mark:<property>`. */
function disappearOf(text: string): DisappearPolicy {
  if (text === 'keep' || text === 'delete') return text;
  if (text.startsWith('mark:') && text.length > 'mark:'.length) return { mark: text.slice('mark:'.length) };
  throw new UsageError(`--on-disappear must be keep, delete or mark:<property>, got "${text}"`);
}

async function specOf(name: string, url: string, options: AddOptions): Promise<SourceSpec> {
  // The token from the environment keeps it out of the shell history and the process list.
  const token = options.token ?? process.env.FLUX_SOURCE_TOKEN;
  return {
    name,
    url,
    entity_key: options.key,
    poll_interval_seconds: positiveInteger(options.interval, '--interval'),
    ...(options.items === undefined ? {} : { items_path: options.items }),
    ...(options.prefix === undefined ? {} : { entity_prefix: options.prefix }),
    ...(options.properties === undefined
      ? {}
      : { properties: (await readJsonArgument(options.properties, '--properties')) as SourceSpec['properties'] }),
    ...(options.auth === undefined ? {} : { auth: authOf(options.auth) }),
    ...(token === undefined || token === '' ? {} : { token }),
    ...(options.onDisappear === undefined ? {} : { on_disappear: disappearOf(options.onDisappear) }),
    ...(options.paused === true ? { paused: true } : {}),
  };
}

/** `flux connectors sources ...`: HTTP sources polled by Flux (those of your namespace in public mode). */
export function registerSourceCommands(connectors: Command): void {
  const sources = connectors.command('sources').description('HTTP sources: a URL polled on an interval, each item published as an entity');

  action(sources.command('list').description('List the sources with their status'), async ({ client, output }) => {
    await output.result({ sources: await client.connectors.sources.list() }, sourcesText);
  });

  action<AddOptions>(
    sources
      .command('add')
      .description('Create a source; prints it with its id')
      .argument('<NAME>', 'a label, up to 100 characters')
      .argument('<URL>', 'http(s) URL answering JSON')
      .requiredOption('--key <JSONPATH>', "JSONPath of each item's key, e.g. '$.id'")
      .option('--items <JSONPATH>', "JSONPath of the items, e.g. '$.data.items' (default: the response is the array)")
      .option('--prefix <PREFIX>', 'entity id prefix, e.g. weather/stations')
      .option('--interval <SECONDS>', 'poll interval', '300')
      .option('--properties <JSON>', 'field names to keep, or {"property":"$.path"} (inline, - or @FILE)')
      .option('--auth <KIND>', 'none, bearer, basic (token user:password) or header:<Name>')
      .option('--token <TOKEN>', 'the credential (or FLUX_SOURCE_TOKEN); stored encrypted, never shown')
      .option('--on-disappear <POLICY>', 'keep, delete or mark:<property> for items gone from the listing')
      .option('--paused', 'create it paused'),
    async ({ client, output }, [name, url], options) => {
      await output.value(await client.connectors.sources.create(await specOf(name!, url!, options)));
    },
  );

  action(
    sources.command('get').description('Show a source: status, last poll, last error, items seen').argument('<ID>'),
    async ({ client, output }, [id]) => {
      const source = await client.connectors.sources.get(id!);
      if (source === undefined) throw new CliFailure(`source ${id} not found`, ExitCode.ClientError);
      await output.value(source);
    },
  );

  action(sources.command('rm').description('Remove a source (its entities stay)').argument('<ID>'), async ({ client, output }, [id]) => {
    await client.connectors.sources.delete(id!);
    await output.result({ deleted: id }, () => `source ${id} removed`);
  });

  action(sources.command('pause').description('Stop polling a source').argument('<ID>'), async ({ client, output }, [id]) => {
    await output.value(await client.connectors.sources.pause(id!));
  });

  action(sources.command('resume').description('Poll a paused source again (at once)').argument('<ID>'), async ({ client, output }, [id]) => {
    await output.value(await client.connectors.sources.resume(id!));
  });
}
