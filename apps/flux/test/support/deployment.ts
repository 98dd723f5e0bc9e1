/**
 * The suite's deployments: started by deploy/local/testing (shared with the suites of the
 * client and the dashboard, which must not depend on this app).
 */
export * from '../../../../deploy/local/testing/test-deployment.js';
