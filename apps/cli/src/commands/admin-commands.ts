import type { Command } from 'commander';
import type { ConnectorSummary, RuntimeConfig } from '@flux/client';
import { CliFailure, ExitCode, UsageError } from '../exit-codes.js';
import { readJsonObject } from '../json-input.js';
import { table } from '../output.js';
import { action } from './define.js';
import { registerSourceCommands } from './source-commands.js';

const connectorsText = ({ connectors }: { connectors: readonly ConnectorSummary[] }): string =>
  table(
    ['NAME', 'ENABLED', 'STATUS'],
    connectors.map((connector) => [connector.name, String(connector.enabled), connector.status]),
  );

const configText = (config: RuntimeConfig): string =>
  table(
    ['SETTING', 'VALUE'],
    Object.entries(config).map(([name, value]) => [name, String(value)]),
  );

export function registerAdminCommands(program: Command): void {
  const connectors = action(
    program.command('connectors').description('List connectors and their status (those of your namespace in public mode)'),
    async ({ client, output }) => {
      await output.result({ connectors: await client.connectors.list() }, connectorsText);
    },
  );
  registerSourceCommands(connectors);
  action(
    connectors
      .command('github')
      .description('The GitHub connector')
      .command('login')
      .description('Print the URL that authorizes Flux on GitHub (OAuth; the token is stored for your namespace in public mode)'),
    async ({ client, output }) => {
      const authorizeUrl = await client.connectors.oauthStart('github');
      await output.result({ authorize_url: authorizeUrl }, () => `Open this URL in a browser to connect GitHub (valid 10 minutes):\n${authorizeUrl}`);
    },
  );

  action(
    program
      .command('admin-config')
      .description('Show the runtime config, or update it (needs FLUX_ADMIN_TOKEN or --admin-token)')
      .argument('[UPDATE_JSON]', 'any subset of the config, e.g. \'{"rate_limit_per_namespace_per_minute":5000}\''),
    async ({ client, output, adminToken }, [updateJson]) => {
      if (updateJson === undefined) {
        await output.result(await client.admin.getConfig(), configText);
        return;
      }
      if (adminToken === undefined) throw new UsageError('FLUX_ADMIN_TOKEN (or --admin-token) must be set to update the config');
      const update = await readJsonObject(updateJson, 'UPDATE_JSON');
      await output.result(await client.admin.setConfig(update), configText);
    },
  );

  action<{ ready?: boolean }>(
    program
      .command('health')
      .description('Check that Flux is up (--ready: that it can serve)')
      .option('--ready', 'ask /ready instead: exit status 3 while Flux cannot serve yet'),
    async ({ client, output, url }, _args, options) => {
      if (options.ready !== true) {
        await output.result(await client.health(), (health) => `Flux at ${url}: ${health.status}`);
        return;
      }
      const readiness = await client.ready();
      await output.result(readiness, (value) => `Flux at ${url}: ${value.ready ? 'ready' : `not ready (${value.reason ?? 'no reason given'})`}`);
      if (!readiness.ready) throw new CliFailure(`Flux at ${url} is not ready`, ExitCode.ServerError);
    },
  );

  const namespaces = program.command('namespaces').description('Register, show and delete namespaces (public mode)');
  action(
    namespaces
      .command('create')
      .description('Register a namespace; prints its token, shown only this once (admin token when the server has one)')
      .argument('<NAME>', '3 to 32 of a-z 0-9 _ -'),
    async ({ client, output }, [name]) => {
      await output.value(await client.namespaces.create(name!));
    },
  );
  action(namespaces.command('get').description('Show a namespace with its entity count').argument('<NAME>'), async ({ client, output }, [name]) => {
    const namespace = await client.namespaces.get(name!);
    if (namespace === undefined) throw new CliFailure(`namespace ${name} not found`, ExitCode.ClientError);
    await output.value(namespace);
  });
  action(
    namespaces.command('delete').description('Delete a namespace; its token stops working (admin token when the server has one)').argument('<NAME>'),
    async ({ client, output }, [name]) => {
      await client.namespaces.delete(name!);
      await output.result({ deleted: name }, () => `namespace ${name} deleted`);
    },
  );
}
