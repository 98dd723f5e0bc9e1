/**
 * The harness's own lifetime: servers it started run as tracked process groups
 * (deploy/local/deployment-process.ts), killed when the harness exits, whether it finishes,
 * fails or is interrupted.
 */

/**
 * Runs `cleanup` once on SIGINT/SIGTERM, then exits with 130. Any tracked group that cleanup
 * did not get to is killed at exit (see trackProcessGroup).
 */
export function onInterrupt(cleanup: () => Promise<void>): void {
  let interrupted = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping the deployment\n`);
    const hardStop = setTimeout(() => process.exit(130), 20_000);
    hardStop.unref();
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

export const delay = (ms: number): Promise<void> => new Promise((resolveDelay) => setTimeout(resolveDelay, ms));
