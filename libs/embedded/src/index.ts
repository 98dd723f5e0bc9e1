export * from './lmdb-environment.js';
export * from './lmdb-event-log.js';
export * from './lmdb-state-store.js';
export * from './lmdb-control-store.js';
export * from './memory-rate-limiter.js';
export * from './memory-poll-lease.js';
export * from './open-embedded.js';
export * from './log-truncation.js';
