export * from './change-hub.js';
export * from './client-port.js';
export * from './entity-resource.js';
export * from './flux-mcp-server.js';
export * from './flux-port.js';
export * from './http-endpoint.js';
export * from './stdio-server.js';
export * from './tool-result.js';
