import type { Command } from 'commander';
import { contextOf, type CliContext } from '../cli-context.js';

export type VerbHandler<O> = (context: CliContext, args: string[], options: O) => Promise<void>;

/**
 * Sets a verb's action: commander passes the positional arguments, then the options, then the
 * command; the handler gets the context (client, output) built from the global options.
 */
export function action<O = Record<string, unknown>>(command: Command, handler: VerbHandler<O>): Command {
  return command.action(async (...params: unknown[]) => {
    const self = params.at(-1) as Command;
    const options = params.at(-2) as O;
    const args = params.slice(0, -2).flatMap((value) => (Array.isArray(value) ? (value as string[]) : value === undefined ? [] : [value as string]));
    await handler(contextOf(self), args, options);
  });
}
