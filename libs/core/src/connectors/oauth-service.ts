import { ErrorCode, FluxError } from '@flux/domain';
import type { GitHubOAuthSettings } from '../config/github-oauth-settings.js';
import type { ControlStore } from '../ports/control-store.js';
import type { ConnectorService } from './connector-service.js';
import { OAuthTokenEndpoint } from './oauth-token-endpoint.js';
import { createOAuthState, createPkcePair, OAUTH_STATE_PATTERN } from './pkce.js';

/** How long a started authorization may take the user. */
export const OAUTH_STATE_TTL_MS = 10 * 60 * 1000;
/** Provider codes are short (GitHub's are 20 characters); a longer one is refused unsent. */
export const MAX_OAUTH_CODE_LENGTH = 512;
const CONNECTOR = 'github';

/**
 * The GitHub connector's OAuth authorization-code flow with PKCE (S256). The pending state
 * lives in the control store, so the callback may reach any gateway replica; the token it
 * yields is stored exactly like a PAT set through the token route.
 */
export class OAuthService {
  private readonly endpoint: OAuthTokenEndpoint | undefined;

  constructor(
    private readonly settings: GitHubOAuthSettings | undefined,
    private readonly control: ControlStore,
    private readonly connectors: ConnectorService,
    private readonly now: () => number = Date.now,
    fetchImpl: typeof fetch = fetch,
  ) {
    this.endpoint = settings === undefined ? undefined : new OAuthTokenEndpoint(settings, fetchImpl);
  }

  /** Starts an authorization for `owner` and resolves the provider URL to send the user to. */
  async start(owner: string, connector: string): Promise<string> {
    const settings = this.configured(connector);
    const state = createOAuthState();
    const pkce = createPkcePair();
    await this.control.putPendingAuthorization({ state, owner, connector, codeVerifier: pkce.verifier, expiresAt: this.now() + OAUTH_STATE_TTL_MS });
    const url = new URL(settings.authorizeUrl);
    url.searchParams.set('client_id', settings.clientId);
    url.searchParams.set('redirect_uri', settings.redirectUrl);
    url.searchParams.set('scope', settings.scopes);
    url.searchParams.set('state', state);
    url.searchParams.set('code_challenge', pkce.challenge);
    url.searchParams.set('code_challenge_method', 'S256');
    url.searchParams.set('response_type', 'code');
    return url.toString();
  }

  /** Completes an authorization: validates the state, exchanges the code and stores the token. */
  async complete(connector: string, state: unknown, code: unknown): Promise<{ owner: string }> {
    this.configured(connector);
    if (typeof state !== 'string' || !OAUTH_STATE_PATTERN.test(state)) {
      throw new FluxError(ErrorCode.OAuthStateInvalid, 'state is missing or malformed');
    }
    const pending = await this.control.takePendingAuthorization(state, this.now());
    if (pending === undefined || pending.connector !== connector) {
      throw new FluxError(ErrorCode.OAuthStateInvalid, 'state is unknown, expired or already used; start the authorization again');
    }
    if (typeof code !== 'string' || code.length === 0 || code.length > MAX_OAUTH_CODE_LENGTH || !/^[\x21-\x7e]+$/.test(code)) {
      throw new FluxError(ErrorCode.Validation, `code is missing or malformed (at most ${MAX_OAUTH_CODE_LENGTH} printable characters)`);
    }
    const grant = await this.endpoint!.exchangeCode(code, pending.codeVerifier);
    await this.connectors.storeGrant(pending.owner, connector, grant);
    return { owner: pending.owner };
  }

  private configured(connector: string): GitHubOAuthSettings {
    if (connector !== CONNECTOR) throw new FluxError(ErrorCode.NotFound, `connector "${connector}" has no OAuth flow`);
    if (this.settings === undefined) {
      throw new FluxError(
        ErrorCode.OAuthNotConfigured,
        'GitHub OAuth is not configured (set FLUX_GITHUB_OAUTH_CLIENT_ID, FLUX_GITHUB_OAUTH_CLIENT_SECRET and FLUX_GITHUB_OAUTH_REDIRECT_URL)',
      );
    }
    return this.settings;
  }
}
