/**
 * Connector credentials (contract section 9): sealed with AES-256-GCM bound to their owner and
 * connector, a clear error without an encryption key, and the status the API reports.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, FluxError } from '@flux/domain';
import { ConnectorService, CredentialVault } from '@flux/core';
import { LmdbControlStore } from '@flux/embedded';
import { tempDir, type TempDir, rejection } from './support.js';

const KEY = randomBytes(32);
const GITHUB = { name: 'github', pollIntervalSeconds: 300 };

let dir: TempDir;
let control: LmdbControlStore;

beforeEach(async () => {
  dir = await tempDir();
  control = LmdbControlStore.openIn(dir.path);
});

afterEach(async () => {
  await control.close();
  await dir.remove();
});

function thrown(action: () => unknown): FluxError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(FluxError);
    return error as FluxError;
  }
  throw new Error('expected a FluxError');
}

describe('CredentialVault', () => {
  it('round-trips a secret, never storing it in clear, with a fresh IV each time', () => {
    const vault = new CredentialVault(KEY);
    expect(vault.configured).toBe(true);
    const secret = 'ghp_super-secret-token-ü';
    const sealed = vault.seal(secret, 'flux-credential:alpha:github');
    expect(JSON.stringify(sealed)).not.toContain('super-secret');
    expect(vault.open(sealed, 'flux-credential:alpha:github')).toBe(secret);
    expect(vault.seal(secret, 'flux-credential:alpha:github').ciphertext).not.toBe(sealed.ciphertext);
  });

  it('refuses to open a secret under another context, with another key, or tampered with', () => {
    const vault = new CredentialVault(KEY);
    const sealed = vault.seal('token', 'flux-credential:alpha:github');
    expect(thrown(() => vault.open(sealed, 'flux-credential:beta:github')).code).toBe(ErrorCode.Internal);
    expect(thrown(() => new CredentialVault(randomBytes(32)).open(sealed, 'flux-credential:alpha:github')).code).toBe(ErrorCode.Internal);
    const flipped = Buffer.from(sealed.ciphertext, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    expect(thrown(() => vault.open({ ...sealed, ciphertext: flipped.toString('base64') }, 'flux-credential:alpha:github')).message).toMatch(
      /cannot be decrypted/,
    );
  });

  it('without a key, sealing and opening fail with FLUX_NOT_CONFIGURED naming the variable', () => {
    const vault = new CredentialVault(undefined);
    expect(vault.configured).toBe(false);
    const error = thrown(() => vault.seal('token', 'ctx'));
    expect(error.code).toBe(ErrorCode.NotConfigured);
    expect(error.message).toContain('FLUX_ENCRYPTION_KEY');
    expect(thrown(() => vault.open({ ciphertext: '', iv: '', authTag: '' }, 'ctx')).code).toBe(ErrorCode.NotConfigured);
  });
});

describe('ConnectorService', () => {
  let connectors: ConnectorService;
  const now = Date.UTC(2026, 10, 24, 10, 30);

  beforeEach(() => {
    connectors = new ConnectorService(control, new CredentialVault(KEY), [GITHUB], () => now);
  });

  it('reports not_configured, then configured once a token is stored, per owner', async () => {
    expect(await connectors.list('alpha')).toEqual([{ name: 'github', enabled: false, status: 'not_configured' }]);
    await connectors.storeToken('alpha', 'github', { token: 'ghp_alpha' });
    expect(await connectors.list('alpha')).toEqual([{ name: 'github', enabled: true, status: 'configured' }]);
    expect(await connectors.detail('alpha', 'github')).toEqual({
      name: 'github',
      enabled: true,
      status: 'configured',
      poll_interval_seconds: 300,
      last_poll: null,
      last_error: null,
    });
    expect(await connectors.token('alpha', 'github')).toBe('ghp_alpha');
    // Another namespace sees none of it.
    expect((await connectors.detail('beta', 'github')).status).toBe('not_configured');
    expect(await connectors.token('beta', 'github')).toBeUndefined();
    // The store holds only ciphertext.
    expect(JSON.stringify(await control.listCredentials())).not.toContain('ghp_alpha');
  });

  it('a credential copied to another owner cannot be opened there', async () => {
    await connectors.storeToken('alpha', 'github', { token: 'ghp_alpha' });
    const stolen = (await control.getCredential('alpha', 'github'))!;
    await control.putCredential({ ...stolen, owner: 'beta' });
    expect((await rejection(connectors.token('beta', 'github'))).code).toBe(ErrorCode.Internal);
  });

  it('reports error with the last poll failure, and a new token clears it', async () => {
    await connectors.storeToken('alpha', 'github', { token: 'ghp_old' });
    const lastPoll = now - 60_000;
    await control.putConnectorState('alpha', 'github', { lastPoll, lastError: 'GitHub answered 401', consecutiveFailures: 2, cursors: { a: '1' } });
    expect(await connectors.detail('alpha', 'github')).toMatchObject({
      status: 'error',
      enabled: true,
      last_poll: new Date(lastPoll).toISOString(),
      last_error: 'GitHub answered 401',
    });
    expect(await connectors.list('alpha')).toEqual([{ name: 'github', enabled: true, status: 'error' }]);

    await connectors.storeToken('alpha', 'github', { token: 'ghp_new' });
    expect(await connectors.detail('alpha', 'github')).toMatchObject({
      status: 'configured',
      last_error: null,
      last_poll: new Date(lastPoll).toISOString(),
    });
    expect(await control.getConnectorState('alpha', 'github')).toMatchObject({ consecutiveFailures: 0, cursors: { a: '1' } });
    expect(await connectors.token('alpha', 'github')).toBe('ghp_new');
  });

  it('deleteToken removes the credential, and is a not-found error when nothing is stored', async () => {
    expect((await rejection(connectors.deleteToken('alpha', 'github'))).code).toBe(ErrorCode.NotFound);
    await connectors.storeToken('alpha', 'github', { token: 'ghp_alpha' });
    await connectors.deleteToken('alpha', 'github');
    expect((await connectors.detail('alpha', 'github')).status).toBe('not_configured');
    expect((await rejection(connectors.deleteToken('alpha', 'github'))).code).toBe(ErrorCode.NotFound);
  });

  it('rejects unknown connectors and malformed token bodies', async () => {
    expect((await rejection(connectors.detail('alpha', 'gitlab'))).code).toBe(ErrorCode.NotFound);
    expect((await rejection(connectors.storeToken('alpha', 'gitlab', { token: 't' }))).code).toBe(ErrorCode.NotFound);
    expect((await rejection(connectors.deleteToken('alpha', 'gitlab'))).code).toBe(ErrorCode.NotFound);
    for (const body of [{}, { token: '' }, { token: 42 }, null, 'ghp_raw']) {
      expect((await rejection(connectors.storeToken('alpha', 'github', body))).code, JSON.stringify(body)).toBe(ErrorCode.Validation);
    }
    expect(await control.listCredentials()).toEqual([]);
  });

  it('without an encryption key, storing fails with FLUX_NOT_CONFIGURED and stores nothing', async () => {
    const unconfigured = new ConnectorService(control, new CredentialVault(undefined), [GITHUB]);
    const error = await rejection(unconfigured.storeToken('alpha', 'github', { token: 'ghp_alpha' }));
    expect(error.code).toBe(ErrorCode.NotConfigured);
    expect(await control.listCredentials()).toEqual([]);
    expect((await unconfigured.detail('alpha', 'github')).status).toBe('not_configured');
  });

  it('credentials survive a reopen of the control store', async () => {
    await connectors.storeToken('', 'github', { token: 'ghp_internal' });
    await control.close();
    control = LmdbControlStore.openIn(dir.path);
    const reopened = new ConnectorService(control, new CredentialVault(Buffer.from(KEY)), [GITHUB]);
    expect(await reopened.token('', 'github')).toBe('ghp_internal');
    expect((await reopened.detail('', 'github')).status).toBe('configured');
  });
});
