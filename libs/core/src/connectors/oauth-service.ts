import { z } from 'zod';
import { ErrorCode, FluxError } from '@flux/domain';
import type { GitHubOAuthSettings } from '../config/github-oauth-settings.js';
import type { ControlStore } from '../ports/control-store.js';
import type { ConnectorService } from './connector-service.js';
import { createOAuthState, createPkcePair, OAUTH_STATE_PATTERN } from './pkce.js';

/** How long a started authorization may take the user. */
export const OAUTH_STATE_TTL_MS = 10 * 60 * 1000;
/** Provider codes are short (GitHub's are 20 characters); a longer one is refused unsent. */
export const MAX_OAUTH_CODE_LENGTH = 512;
/** A token response is a few hundred bytes; more is refused unread. */
const MAX_TOKEN_RESPONSE_BYTES = 16 * 1024;

const CONNECTOR = 'github';

const tokenResponse = z.object({
  access_token: z.string().min(1).max(4096).optional(),
  token_type: z.string().optional(),
  error: z.string().max(256).optional(),
  error_description: z.string().max(1024).optional(),
});

const exchangeFailed = (message: string, cause?: unknown): FluxError =>
  new FluxError(ErrorCode.OAuthExchangeFailed, message, cause === undefined ? {} : { cause });

/** Reads at most `limit` bytes of a response body; more is a failure, not a truncation. */
async function boundedText(response: Response, limit: number): Promise<string> {
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw exchangeFailed(`the token response exceeds ${limit} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The GitHub connector's OAuth authorization-code flow with PKCE (S256). The pending state
 * lives in the control store, so the callback may reach any gateway replica; the token it
 * yields is stored exactly like a PAT set through the token route.
 */
export class OAuthService {
  constructor(
    private readonly settings: GitHubOAuthSettings | undefined,
    private readonly control: ControlStore,
    private readonly connectors: ConnectorService,
    private readonly now: () => number = Date.now,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

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
    const settings = this.configured(connector);
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
    const token = await this.exchange(settings, code, pending.codeVerifier);
    await this.connectors.storeToken(pending.owner, connector, { token });
    return { owner: pending.owner };
  }

  private async exchange(settings: GitHubOAuthSettings, code: string, codeVerifier: string): Promise<string> {
    const body = new URLSearchParams({
      client_id: settings.clientId,
      client_secret: settings.clientSecret,
      code,
      redirect_uri: settings.redirectUrl,
      code_verifier: codeVerifier,
      grant_type: 'authorization_code',
    });
    let text: string;
    let status: number;
    try {
      const response = await this.fetchImpl(settings.tokenUrl, {
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(settings.timeoutMs),
      });
      status = response.status;
      text = await boundedText(response, MAX_TOKEN_RESPONSE_BYTES);
    } catch (error) {
      if (error instanceof FluxError) throw error;
      throw exchangeFailed('the token endpoint could not be reached in time', error);
    }
    let parsed: z.infer<typeof tokenResponse> | undefined;
    try {
      const result = tokenResponse.safeParse(JSON.parse(text));
      parsed = result.success ? result.data : undefined;
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined) throw exchangeFailed(`the token endpoint answered ${status} with no usable JSON`);
    if (parsed.error !== undefined || parsed.access_token === undefined) {
      // GitHub answers refusals with 200 and an `error` field (bad_verification_code, ...).
      throw exchangeFailed(
        `the provider refused the code: ${parsed.error ?? `status ${status}`}${parsed.error_description === undefined ? '' : ` (${parsed.error_description})`}`,
      );
    }
    return parsed.access_token;
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
