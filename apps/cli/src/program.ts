import { Command, Option } from 'commander';
import packageJson from '../package.json' with { type: 'json' };
import { registerAdminCommands } from './commands/admin-commands.js';
import { registerCompletionCommand } from './commands/completion-command.js';
import { registerMcpCommand } from './commands/mcp-command.js';
import { registerServeCommand } from './commands/serve-command.js';
import { registerStateCommands } from './commands/state-commands.js';
import { registerTransferCommands } from './commands/transfer-commands.js';
import { registerWatchCommand } from './commands/watch-command.js';
import { EXIT_CODES_HELP } from './exit-codes.js';

const ENVIRONMENT_HELP = `Environment:
  FLUX_URL          base URL (default http://localhost:3000); --url wins
  FLUX_TOKEN        namespace token sent as bearer (public instances); --token wins
  FLUX_ADMIN_TOKEN  admin token for namespaces create/delete and admin-config updates; --admin-token wins

Output is JSON when stdout is not a terminal (or with --json), readable text on a terminal.
Errors go to stderr.`;

const EXAMPLES = `Examples:
  flux publish sensors agent-01 my-ns/room-101 '{"temperature":22.5}'
  flux get my-ns/room-101
  flux list --prefix my-ns/
  flux watch my-ns/room-101
  flux export --namespace my-ns > my-ns.ndjson`;

/** The `flux` command tree. */
export function buildProgram(): Command {
  const program = new Command('flux')
    .description('Command-line client of Flux, the event-sourced world state engine')
    .version(packageJson.version, '-V, --version')
    .option('--url <URL>', 'Flux base URL (FLUX_URL)')
    .option('--token <TOKEN>', 'namespace token (FLUX_TOKEN)')
    .option('--admin-token <TOKEN>', 'admin token (FLUX_ADMIN_TOKEN)')
    .option('--json', 'JSON output even on a terminal')
    .addOption(new Option('--output <FORMAT>', 'output format').choices(['auto', 'json', 'text']).default('auto'))
    .option('--timeout <SECONDS>', 'per request (default 30)')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', `\n${ENVIRONMENT_HELP}\n\n${EXIT_CODES_HELP}\n\n${EXAMPLES}`);
  registerStateCommands(program);
  registerWatchCommand(program);
  registerAdminCommands(program);
  registerTransferCommands(program);
  registerServeCommand(program);
  registerMcpCommand(program);
  registerCompletionCommand(program);
  // Every verb reports usage errors through main (exit status 1) rather than exiting itself.
  const configure = (command: Command): void => {
    command.exitOverride().showHelpAfterError('(add --help for usage)');
    command.commands.forEach(configure);
  };
  configure(program);
  return program;
}
