/**
 * The stdio MCP server as a process: `node --import tsx libs/mcp/src/stdio-main.ts`, for the
 * Flux at FLUX_URL (default http://localhost:3000) with the namespace token FLUX_TOKEN. Logs
 * go to stderr (FLUX_LOG_LEVEL, default warn): stdout carries MCP messages only.
 */
import { pino } from 'pino';
import { runStdioServer } from './stdio-server.js';

const logger = pino({ level: process.env.FLUX_LOG_LEVEL ?? 'warn', base: { service: 'flux-mcp' } }, pino.destination(2));
const token = process.env.FLUX_TOKEN;
const server = await runStdioServer({
  url: process.env.FLUX_URL ?? 'http://localhost:3000',
  ...(token === undefined || token === '' ? {} : { token }),
  logger,
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void server.close());
await server.closed;
// Kept-alive HTTP connections to Flux would otherwise hold the process for their idle timeout.
process.exit(0);
