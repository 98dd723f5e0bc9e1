/**
 * The roles of Flux, composed once: the embedded server runs all three on in-process adapters,
 * each distributed app runs one on remote adapters. Apps only open adapters and listen.
 */
export * from './closing-order.js';
export * from './gateway-services.js';
export * from './ingest-role.js';
export * from './query-role.js';
export * from './reducer-role.js';
export * from './waits-role.js';
