import type { EnvReader } from './settings.js';

/** The GitHub OAuth app Flux sends users to (authorization-code flow with PKCE). */
export interface GitHubOAuthSettings {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Where GitHub sends the user back: Flux's `/api/connectors/github/oauth/callback`. */
  readonly redirectUrl: string;
  readonly authorizeUrl: string;
  readonly tokenUrl: string;
  /** Space-separated scopes asked for. */
  readonly scopes: string;
  /** Bound of the code exchange (and of a refresh). */
  readonly timeoutMs: number;
}

const REQUIRED = ['FLUX_GITHUB_OAUTH_CLIENT_ID', 'FLUX_GITHUB_OAUTH_CLIENT_SECRET', 'FLUX_GITHUB_OAUTH_REDIRECT_URL'] as const;

/**
 * OAuth is on when the client id, secret and redirect URL are all set, off when none is; a
 * partial configuration is a start-up error naming what is missing.
 */
export function readGitHubOAuthSettings(read: EnvReader): GitHubOAuthSettings | undefined {
  const missing = REQUIRED.filter((name) => read.optionalString(name) === undefined);
  const authorizeUrl = read.url('FLUX_GITHUB_OAUTH_AUTHORIZE_URL', 'https://github.com/login/oauth/authorize');
  const tokenUrl = read.url('FLUX_GITHUB_OAUTH_TOKEN_URL', 'https://github.com/login/oauth/access_token');
  const scopes = read.string('FLUX_GITHUB_OAUTH_SCOPES', 'repo notifications read:user');
  const timeoutMs = read.integer('FLUX_GITHUB_OAUTH_TIMEOUT_MS', 10_000, 100, 120_000);
  if (missing.length === REQUIRED.length) return undefined;
  if (missing.length > 0) {
    read.problems.push(`${missing.join(', ')} must be set as well: GitHub OAuth needs the client id, secret and redirect URL`);
    return undefined;
  }
  return {
    clientId: read.optionalString('FLUX_GITHUB_OAUTH_CLIENT_ID')!,
    clientSecret: read.optionalString('FLUX_GITHUB_OAUTH_CLIENT_SECRET')!,
    redirectUrl: read.url('FLUX_GITHUB_OAUTH_REDIRECT_URL', 'http://localhost/'),
    authorizeUrl,
    tokenUrl,
    scopes,
    timeoutMs,
  };
}
