import type { Command } from 'commander';
import { FluxClient } from '@flux/client';
import { UsageError } from './exit-codes.js';
import { Output, outputFormat } from './output.js';

/** Options every verb takes (defined on the program, accepted before or after the verb). */
export interface GlobalOptions {
  readonly url?: string;
  readonly token?: string;
  readonly adminToken?: string;
  readonly output?: string;
  readonly json?: boolean;
  readonly timeout?: string;
}

export const DEFAULT_URL = 'http://localhost:3000';

/** What a verb works with: the client configured from flags and environment, and the output. */
export interface CliContext {
  readonly client: FluxClient;
  readonly output: Output;
  readonly url: string;
  readonly token: string | undefined;
  readonly adminToken: string | undefined;
}

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value === '' ? undefined : value);

/** Flags win over FLUX_URL / FLUX_TOKEN / FLUX_ADMIN_TOKEN, as in the bash client. */
export function contextOf(command: Command, env: NodeJS.ProcessEnv = process.env): CliContext {
  const options = command.optsWithGlobals<GlobalOptions>();
  const url = (nonEmpty(options.url) ?? nonEmpty(env.FLUX_URL) ?? DEFAULT_URL).replace(/\/+$/, '');
  const token = nonEmpty(options.token) ?? nonEmpty(env.FLUX_TOKEN);
  const adminToken = nonEmpty(options.adminToken) ?? nonEmpty(env.FLUX_ADMIN_TOKEN);
  const timeoutSeconds = options.timeout === undefined ? 30 : Number(options.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0)
    throw new UsageError(`--timeout must be a positive number of seconds, got "${options.timeout}"`);
  if (!/^https?:\/\//i.test(url)) throw new UsageError(`the Flux URL must start with http:// or https://, got "${url}"`);
  const client = new FluxClient({
    url,
    ...(token === undefined ? {} : { token }),
    ...(adminToken === undefined ? {} : { adminToken }),
    timeoutMs: timeoutSeconds * 1000,
    source: 'flux-cli',
  });
  return { client, output: new Output(outputFormat(options.json === true ? 'json' : options.output)), url, token, adminToken };
}
