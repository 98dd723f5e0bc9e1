export * from './event-log.js';
export * from './state-store.js';
export * from './control-store.js';
export * from './change-feed.js';
export * from './rate-limiter.js';
export * from './poll-lease.js';
export * from './change-catch-up.js';
export * from './change-replay.js';
