export * from './api-deps.js';
export * from './build-server.js';
export type { DashboardOptions } from './routes/dashboard-routes.js';
export * from './http/errors.js';
export * from './http/ingest-forwarding.js';
export * from './websocket/websocket-hub.js';
export * from './http/request-id.js';
export * from './http/stale-header.js';
export { MCP_URL, selfUrl } from './routes/mcp-routes.js';
