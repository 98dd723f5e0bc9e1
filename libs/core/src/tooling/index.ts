/**
 * Helpers for tools that start Flux processes (the local cluster launcher, test deployments,
 * benchmarks, chaos runs): free ports, process groups, and the wait for `/ready`. Kept out of
 * the main entry point: importing process-groups installs an exit hook, which no production
 * process should carry.
 */
export * from './free-port.js';
export * from './process-groups.js';
export * from './readiness.js';
export * from './test-pki.js';
