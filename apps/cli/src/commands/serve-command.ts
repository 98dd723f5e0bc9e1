import type { Command } from 'commander';

let serving = false;

/** True once `serve` started the server: the process then lives until the server stops it. */
export const isServing = (): boolean => serving;

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the embedded Flux server in this process (as npm start)')
    .option('--port <PORT>', 'port to listen on (PORT, default 3000)')
    .option('--host <HOST>', 'address to listen on (HOST, default 0.0.0.0)')
    .option('--data-dir <DIR>', 'where the log and state are kept (FLUX_DATA_DIR, default ./.flux-data)')
    .addHelpText('after', '\nEvery FLUX_* variable of the server applies (FLUX_AUTH_ENABLED, FLUX_ADMIN_TOKEN, ...). Ctrl-C stops it.')
    .action(async (options: { port?: string; host?: string; dataDir?: string }) => {
      // The server reads its settings from the environment once, when its entry module loads.
      if (options.port !== undefined) process.env.PORT = options.port;
      if (options.host !== undefined) process.env.HOST = options.host;
      if (options.dataDir !== undefined) process.env.FLUX_DATA_DIR = options.dataDir;
      // Loaded only here: the other verbs never pay for the server's modules. It handles its own
      // signals and exits; until then its listening socket keeps this process alive.
      await import('@flux/server/main');
      serving = true;
    });
}
