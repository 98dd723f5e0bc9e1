import { FluxClient, FluxHttpError } from '@flux/client';

/** The server marks the page in public mode (namespaces, tokens); see libs/api's dashboard routes. */
export const publicMode = document.querySelector('meta[name="flux-mode"]')?.getAttribute('content') === 'public';

/**
 * The API is served by the same server as the page: the page's own directory, so the dashboard
 * also works behind a proxy that mounts Flux under a path.
 */
export const apiUrl = new URL('.', window.location.href).href.replace(/\/+$/, '');

/** The client for reads and the live feed, which need no token. */
export const flux = new FluxClient({ url: apiUrl });

/** A client that sends the given tokens (a new one per action: tokens are typed in by the user). */
export const fluxWith = (tokens: { token?: string; adminToken?: string }): FluxClient =>
  new FluxClient({
    url: apiUrl,
    ...(tokens.token ? { token: tokens.token } : {}),
    ...(tokens.adminToken ? { adminToken: tokens.adminToken } : {}),
  });

/** What to tell the user about a failed call: the server's message, with a hint for the auth statuses. */
export function describeError(error: unknown): string {
  if (error instanceof FluxHttpError) {
    const hint = error.status === 401 ? ' (the token is missing or wrong)' : error.status === 403 ? ' (this token may not do that)' : '';
    return `${error.message}${hint}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** As `describeError`, with the server's stable error code when there is one. */
export function describeErrorWithCode(error: unknown): string {
  return error instanceof FluxHttpError ? `${describeError(error)} [${error.code}]` : describeError(error);
}
