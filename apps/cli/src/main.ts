import { CommanderError } from 'commander';
import { describeError, ExitCode, exitCodeOf } from './exit-codes.js';
import { isServing } from './commands/serve-command.js';
import { buildProgram } from './program.js';

/**
 * A reader that went away (`flux export | head`) ends the output; that is not an error.
 * Without this, the next write would crash the process with EPIPE.
 */
function endQuietlyOnClosedPipe(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(ExitCode.Ok);
    throw error;
  });
}

/**
 * Runs `flux` with the arguments after the program name; resolves with the exit status, or
 * undefined when the process must go on (`serve`: the server stops it).
 */
export async function main(args: readonly string[]): Promise<number | undefined> {
  endQuietlyOnClosedPipe();
  const program = buildProgram();
  try {
    if (args.length === 0) {
      program.outputHelp({ error: true });
      return ExitCode.Usage;
    }
    await program.parseAsync([...args], { from: 'user' });
    return isServing() ? undefined : ExitCode.Ok;
  } catch (error) {
    // Commander has already printed its own message (and help for --help).
    if (!(error instanceof CommanderError)) {
      process.stderr.write(`flux: ${describeError(error)}\n`);
      if (process.env.FLUX_DEBUG === '1' && error instanceof Error && error.stack !== undefined) process.stderr.write(`${error.stack}\n`);
    }
    return exitCodeOf(error);
  }
}
