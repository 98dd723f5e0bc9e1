import { describe, expect, it } from 'vitest';
import { ConnectorService } from '../src/connectors/connector-service.js';
import { CredentialVault } from '../src/connectors/credential-vault.js';
import type { OAuthGrant } from '../src/connectors/oauth-token-endpoint.js';
import type { ControlStore, StoredCredential } from '../src/ports/control-store.js';

/** Just the credential part of a control store, in memory. */
function credentialStore(): ControlStore & { readonly credentials: Map<string, StoredCredential> } {
  const credentials = new Map<string, StoredCredential>();
  const store = {
    credentials,
    putCredential: async (credential: StoredCredential) => void credentials.set(`${credential.owner}/${credential.connector}`, credential),
    getCredential: async (owner: string, connector: string) => credentials.get(`${owner}/${connector}`),
    getConnectorState: async () => undefined,
    putConnectorState: async () => undefined,
  };
  return store as unknown as ControlStore & { readonly credentials: Map<string, StoredCredential> };
}

function service(grants: OAuthGrant[]) {
  const control = credentialStore();
  const redeemed: string[] = [];
  const clock = { now: 1_000_000 };
  const refresher = {
    refresh: async (refreshToken: string) => {
      redeemed.push(refreshToken);
      return grants.shift()!;
    },
  };
  const connectors = new ConnectorService(
    control,
    new CredentialVault(Buffer.alloc(32, 3)),
    [{ name: 'github', pollIntervalSeconds: 60 }],
    () => clock.now,
    refresher,
  );
  return { control, connectors, redeemed, clock };
}

describe('ConnectorService with expiring OAuth tokens', () => {
  it('uses the token until a minute before expiry, then refreshes it and keeps the grant version', async () => {
    const h = service([{ accessToken: 'access-2', refreshToken: 'refresh-2', expiresInSeconds: 3600 }, { accessToken: 'access-3' }]);
    await h.connectors.storeGrant('ns', 'github', { accessToken: 'access-1', refreshToken: 'refresh-1', expiresInSeconds: 600 });
    const stored = h.control.credentials.get('ns/github')!;
    expect(JSON.stringify(stored)).not.toContain('refresh-1');
    expect(await h.connectors.token('ns', 'github')).toBe('access-1');
    h.clock.now += 540_000; // 60 s before expiry
    expect(await h.connectors.token('ns', 'github')).toBe('access-2');
    expect(h.redeemed).toEqual(['refresh-1']);
    const renewed = h.control.credentials.get('ns/github')!;
    expect(renewed.version).toBe(`${stored.createdAt}:${stored.iv}`);
    expect(renewed.expiresAt).toBe(h.clock.now + 3_600_000);
    expect(await h.connectors.token('ns', 'github')).toBe('access-2');
    h.clock.now += 3_600_000;
    // A grant without a new refresh token keeps the old one; without expires_in it no longer expires.
    expect(await h.connectors.token('ns', 'github')).toBe('access-3');
    expect(h.redeemed).toEqual(['refresh-1', 'refresh-2']);
    expect(h.control.credentials.get('ns/github')!.expiresAt).toBeUndefined();
    expect(await h.connectors.token('ns', 'github')).toBe('access-3');
    expect(h.redeemed).toHaveLength(2);
  });

  it('never refreshes a token set by hand', async () => {
    const h = service([]);
    await h.connectors.storeToken('', 'github', { token: 'ghp_pat' });
    h.clock.now += 10 * 365 * 86_400_000;
    expect(await h.connectors.token('', 'github')).toBe('ghp_pat');
    expect(h.redeemed).toEqual([]);
  });
});
