import type { Command } from 'commander';
import { contextOf } from '../cli-context.js';

export function registerMcpCommand(program: Command): void {
  program
    .command('mcp')
    .description('Serve Flux to a local agent as MCP tools and resources, over stdio')
    .addHelpText(
      'after',
      [
        '',
        'For an MCP client that starts servers as commands, e.g.:',
        '  {"mcpServers": {"flux": {"command": "npx", "args": ["flux", "mcp"], "env": {"FLUX_URL": "http://localhost:3000"}}}}',
        'stdout carries MCP messages only; logs go to stderr (FLUX_LOG_LEVEL, default warn). It ends when its input closes.',
      ].join('\n'),
    )
    .action(async (_options: unknown, command: Command) => {
      const { url, token } = contextOf(command);
      // Loaded only here: the other verbs never pay for the MCP SDK.
      const [{ runStdioServer }, { pino }] = await Promise.all([import('@flux/mcp'), import('pino')]);
      const logger = pino({ level: process.env.FLUX_LOG_LEVEL ?? 'warn', base: { service: 'flux-mcp' } }, pino.destination(2));
      const server = await runStdioServer({ url, ...(token === undefined ? {} : { token }), logger });
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void server.close());
      await server.closed;
    });
}
