/**
 * Port contract suites: every adapter of a port (embedded, Kafka, Redis) registers the same
 * vitest suite with its own fixture factory, so they all prove the same behaviour.
 */
export * from './fixture.js';
export * from './async.js';
export * from './event-log-contract.js';
export * from './state-store-contract.js';
export * from './change-replay-contract.js';
export * from './control-store-contract.js';
export * from './change-feed-contract.js';
export * from './rate-limiter-contract.js';
export * from './poll-lease-contract.js';
export * from './services.js';
export * from './child-process.js';
