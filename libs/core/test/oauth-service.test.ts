import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ErrorCode, FluxError } from '@flux/domain';
import type { GitHubOAuthSettings } from '../src/config/github-oauth-settings.js';
import type { ConnectorService } from '../src/connectors/connector-service.js';
import { OAUTH_STATE_TTL_MS, OAuthService } from '../src/connectors/oauth-service.js';
import type { OAuthGrant } from '../src/connectors/oauth-token-endpoint.js';
import { createOAuthState, createPkcePair, OAUTH_STATE_PATTERN, pkceChallenge } from '../src/connectors/pkce.js';
import type { ControlStore, PendingAuthorization } from '../src/ports/control-store.js';

const SETTINGS: GitHubOAuthSettings = {
  clientId: 'client-id',
  clientSecret: 'client-secret',
  redirectUrl: 'https://flux.example/api/connectors/github/oauth/callback',
  authorizeUrl: 'https://github.example/login/oauth/authorize',
  tokenUrl: 'https://github.example/login/oauth/access_token',
  scopes: 'repo notifications',
  timeoutMs: 1000,
};

/** Just the pending-authorization part of a control store, in memory. */
function pendingStore(): ControlStore {
  const pending = new Map<string, PendingAuthorization>();
  const store: Pick<ControlStore, 'putPendingAuthorization' | 'takePendingAuthorization'> = {
    putPendingAuthorization: async (value) => void pending.set(value.state, value),
    takePendingAuthorization: async (state, now) => {
      const value = pending.get(state);
      pending.delete(state);
      return value !== undefined && value.expiresAt > now ? value : undefined;
    },
  };
  return store as ControlStore;
}

interface Harness {
  readonly service: OAuthService;
  readonly stored: { owner: string; token: string }[];
  readonly exchanges: URLSearchParams[];
  clock: number;
}

function harness(answer: () => Response = () => Response.json({ access_token: 'gho_token' })): Harness {
  const stored: Harness['stored'] = [];
  const exchanges: URLSearchParams[] = [];
  const connectors = { storeGrant: async (owner: string, _name: string, grant: OAuthGrant) => void stored.push({ owner, token: grant.accessToken }) };
  const fetchStub = (async (_url: string, init: RequestInit) => {
    exchanges.push(new URLSearchParams(init.body as URLSearchParams));
    return answer();
  }) as unknown as typeof fetch;
  const h: Harness = {
    stored,
    exchanges,
    clock: 1_000_000,
    service: undefined as unknown as OAuthService,
  };
  (h as { service: OAuthService }).service = new OAuthService(
    SETTINGS,
    pendingStore(),
    connectors as unknown as ConnectorService,
    () => h.clock,
    fetchStub,
  );
  return h;
}

const codeOf = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof FluxError) return error.code;
    throw error;
  }
  return 'resolved';
};

describe('PKCE and state', () => {
  it('makes a 43-character verifier whose S256 challenge is base64url(SHA-256)', () => {
    const pair = createPkcePair();
    expect(pair.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pair.challenge).toBe(createHash('sha256').update(pair.verifier).digest('base64url'));
    expect(pkceChallenge(pair.verifier)).toBe(pair.challenge);
    expect(createPkcePair().verifier).not.toBe(pair.verifier);
  });

  it('makes random states of the accepted shape', () => {
    const states = new Set(Array.from({ length: 50 }, createOAuthState));
    expect(states.size).toBe(50);
    for (const state of states) expect(state).toMatch(OAUTH_STATE_PATTERN);
  });
});

describe('OAuthService', () => {
  it('start builds the authorize URL; complete sends the matching verifier and stores the token for the owner', async () => {
    const h = harness();
    const url = new URL(await h.service.start('dawn-coral', 'github'));
    expect(url.origin + url.pathname).toBe(SETTINGS.authorizeUrl);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    const state = url.searchParams.get('state')!;
    expect(await h.service.complete('github', state, 'code-1')).toEqual({ owner: 'dawn-coral' });
    const sent = h.exchanges[0]!;
    expect(pkceChallenge(sent.get('code_verifier')!)).toBe(url.searchParams.get('code_challenge'));
    expect(sent.get('client_secret')).toBe(SETTINGS.clientSecret);
    expect(sent.get('code')).toBe('code-1');
    expect(h.stored).toEqual([{ owner: 'dawn-coral', token: 'gho_token' }]);
  });

  it('refuses a reused, expired, unknown or malformed state with FLUX_OAUTH_STATE_INVALID', async () => {
    const h = harness();
    const state = new URL(await h.service.start('', 'github')).searchParams.get('state')!;
    await h.service.complete('github', state, 'code');
    expect(await codeOf(h.service.complete('github', state, 'code'))).toBe(ErrorCode.OAuthStateInvalid);
    const late = new URL(await h.service.start('', 'github')).searchParams.get('state')!;
    h.clock += OAUTH_STATE_TTL_MS;
    expect(await codeOf(h.service.complete('github', late, 'code'))).toBe(ErrorCode.OAuthStateInvalid);
    expect(await codeOf(h.service.complete('github', 'A'.repeat(32), 'code'))).toBe(ErrorCode.OAuthStateInvalid);
    expect(await codeOf(h.service.complete('github', 'short', 'code'))).toBe(ErrorCode.OAuthStateInvalid);
    expect(await codeOf(h.service.complete('github', undefined, 'code'))).toBe(ErrorCode.OAuthStateInvalid);
    expect(h.exchanges).toHaveLength(1);
  });

  it('refuses an overlong code before any exchange', async () => {
    const h = harness();
    const state = new URL(await h.service.start('', 'github')).searchParams.get('state')!;
    expect(await codeOf(h.service.complete('github', state, 'c'.repeat(513)))).toBe(ErrorCode.Validation);
    expect(h.exchanges).toHaveLength(0);
  });

  it.each([
    ['a provider error', () => Response.json({ error: 'bad_verification_code' })],
    ['no access_token', () => Response.json({ token_type: 'bearer' })],
    ['not JSON', () => new Response('<html>oops</html>', { status: 500 })],
    ['an oversized response', () => Response.json({ access_token: 'x', padding: 'p'.repeat(20_000) })],
  ])('turns %s into FLUX_OAUTH_EXCHANGE_FAILED and stores nothing', async (_label, answer) => {
    const h = harness(answer);
    const state = new URL(await h.service.start('', 'github')).searchParams.get('state')!;
    expect(await codeOf(h.service.complete('github', state, 'code'))).toBe(ErrorCode.OAuthExchangeFailed);
    expect(h.stored).toEqual([]);
  });

  it('answers FLUX_OAUTH_NOT_CONFIGURED without settings, and not found for other connectors', async () => {
    const unconfigured = new OAuthService(undefined, pendingStore(), {} as ConnectorService);
    expect(await codeOf(unconfigured.start('', 'github'))).toBe(ErrorCode.OAuthNotConfigured);
    expect(await codeOf(harness().service.start('', 'gitlab'))).toBe(ErrorCode.NotFound);
  });
});
