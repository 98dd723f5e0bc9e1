import { z } from 'zod';
import { ErrorCode, FluxError } from '@flux/domain';
import type { GitHubOAuthSettings } from '../config/github-oauth-settings.js';

/** A token response is a few hundred bytes; more is refused unread. */
const MAX_TOKEN_RESPONSE_BYTES = 16 * 1024;

/** What the provider granted: an access token, and for expiring tokens a refresh token. */
export interface OAuthGrant {
  readonly accessToken: string;
  readonly refreshToken?: string;
  readonly expiresInSeconds?: number;
}

const tokenResponse = z.object({
  access_token: z.string().min(1).max(4096).optional(),
  refresh_token: z.string().min(1).max(4096).optional(),
  expires_in: z.number().int().positive().optional(),
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

/** The provider's token endpoint: code exchange and refresh, bounded in time and size. */
export class OAuthTokenEndpoint {
  constructor(
    private readonly settings: GitHubOAuthSettings,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  exchangeCode(code: string, codeVerifier: string): Promise<OAuthGrant> {
    return this.grant({ grant_type: 'authorization_code', code, redirect_uri: this.settings.redirectUrl, code_verifier: codeVerifier });
  }

  refresh(refreshToken: string): Promise<OAuthGrant> {
    return this.grant({ grant_type: 'refresh_token', refresh_token: refreshToken });
  }

  private async grant(params: Record<string, string>): Promise<OAuthGrant> {
    const body = new URLSearchParams({ client_id: this.settings.clientId, client_secret: this.settings.clientSecret, ...params });
    let text: string;
    let status: number;
    try {
      const response = await this.fetchImpl(this.settings.tokenUrl, {
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(this.settings.timeoutMs),
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
      const reason = parsed.error ?? `status ${status}`;
      throw exchangeFailed(
        `the provider refused the ${params.grant_type} grant: ${reason}${parsed.error_description === undefined ? '' : ` (${parsed.error_description})`}`,
      );
    }
    return {
      accessToken: parsed.access_token,
      ...(parsed.refresh_token === undefined ? {} : { refreshToken: parsed.refresh_token }),
      ...(parsed.expires_in === undefined ? {} : { expiresInSeconds: parsed.expires_in }),
    };
  }
}
