/**
 * Start-up configuration (contract section 11): documented defaults, and invalid configuration
 * stopping start-up with one message naming every bad variable.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RUNTIME_CONFIG } from '@flux/domain';
import { ConfigError, parseSettings } from '@flux/core';

function configError(env: Record<string, string>): ConfigError {
  try {
    parseSettings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('parseSettings', () => {
  it('uses the documented defaults for an empty environment', () => {
    const settings = parseSettings({});
    expect(settings).toMatchObject({
      port: 3000,
      authEnabled: false,
      adminToken: undefined,
      encryptionKey: undefined,
      initialRuntimeConfig: DEFAULT_RUNTIME_CONFIG,
      maxBatchDelete: 10_000,
      entityBound: { maxProperties: 10_000, maxBytes: 16_777_216 },
      github: { apiUrl: 'https://api.github.com', pollIntervalSeconds: 300, oauth: undefined },
      mcp: { maxSessions: 100, sessionIdleMs: 600_000 },
    });
    expect(settings.initialRuntimeConfig).toEqual({
      rate_limit_enabled: true,
      rate_limit_per_namespace_per_minute: 10_000,
      body_size_limit_single_bytes: 1_048_576,
      body_size_limit_batch_bytes: 10_485_760,
    });
    expect(settings.partitionCount).toBeGreaterThanOrEqual(1);
    // Blank values count as unset.
    expect(parseSettings({ PORT: '  ', FLUX_AUTH_ENABLED: '', FLUX_ENCRYPTION_KEY: '' })).toMatchObject({
      port: 3000,
      authEnabled: false,
      encryptionKey: undefined,
    });
  });

  it('reads valid values', () => {
    const key = randomBytes(32);
    const settings = parseSettings({
      PORT: '8080',
      FLUX_DATA_DIR: '/var/lib/flux',
      FLUX_AUTH_ENABLED: 'TRUE',
      FLUX_ADMIN_TOKEN: 'admin-secret',
      FLUX_ENCRYPTION_KEY: key.toString('base64'),
      FLUX_RATE_LIMIT_ENABLED: 'false',
      FLUX_RATE_LIMIT_PER_NAMESPACE_PER_MINUTE: '600',
      FLUX_BODY_SIZE_LIMIT_SINGLE_BYTES: '2048',
      FLUX_BODY_SIZE_LIMIT_BATCH_BYTES: '65536',
      FLUX_GITHUB_API_URL: 'https://ghe.example.com/api/v3/',
      FLUX_GITHUB_POLL_INTERVAL_SECONDS: '60',
      FLUX_MAX_ENTITY_PROPERTIES: '500',
      FLUX_MAX_ENTITY_BYTES: '65536',
      FLUX_MCP_MAX_SESSIONS: '0',
      FLUX_MCP_SESSION_IDLE_SECONDS: '30',
    });
    expect(settings).toMatchObject({
      port: 8080,
      dataDir: '/var/lib/flux',
      authEnabled: true,
      adminToken: 'admin-secret',
      initialRuntimeConfig: {
        rate_limit_enabled: false,
        rate_limit_per_namespace_per_minute: 600,
        body_size_limit_single_bytes: 2048,
        body_size_limit_batch_bytes: 65_536,
      },
      github: { apiUrl: 'https://ghe.example.com/api/v3', pollIntervalSeconds: 60, oauth: undefined },
      entityBound: { maxProperties: 500, maxBytes: 65_536 },
      mcp: { maxSessions: 0, sessionIdleMs: 30_000 },
    });
    expect(settings.encryptionKey?.equals(key)).toBe(true);
    expect(parseSettings({ FLUX_GITHUB_API_URL: 'http://127.0.0.1:9999' }).github.apiUrl).toBe('http://127.0.0.1:9999');
  });

  it('reports every invalid variable together in one ConfigError', () => {
    const error = configError({
      PORT: '70000',
      FLUX_AUTH_ENABLED: 'maybe',
      FLUX_ENCRYPTION_KEY: randomBytes(16).toString('base64'),
      FLUX_GITHUB_API_URL: 'ftp://x',
    });
    expect(error.problems).toHaveLength(4);
    for (const variable of ['PORT', 'FLUX_AUTH_ENABLED', 'FLUX_ENCRYPTION_KEY', 'FLUX_GITHUB_API_URL']) {
      expect(
        error.problems.filter((problem) => problem.startsWith(`${variable} `)),
        variable,
      ).toHaveLength(1);
      expect(error.message).toContain(variable);
    }
    expect(error.message).toContain('"maybe"');
    expect(error.message).toContain('"ftp://x"');
  });

  it('reads GitHub OAuth when client id, secret and redirect URL are set, and names what a partial setup lacks', () => {
    const oauth = parseSettings({
      FLUX_GITHUB_OAUTH_CLIENT_ID: 'id',
      FLUX_GITHUB_OAUTH_CLIENT_SECRET: 'secret',
      FLUX_GITHUB_OAUTH_REDIRECT_URL: 'https://flux.example/api/connectors/github/oauth/callback',
      FLUX_GITHUB_OAUTH_TOKEN_URL: 'https://ghe.example/login/oauth/access_token',
    }).github.oauth;
    expect(oauth).toMatchObject({
      clientId: 'id',
      clientSecret: 'secret',
      redirectUrl: 'https://flux.example/api/connectors/github/oauth/callback',
      authorizeUrl: 'https://github.com/login/oauth/authorize',
      tokenUrl: 'https://ghe.example/login/oauth/access_token',
    });
    const error = configError({ FLUX_GITHUB_OAUTH_CLIENT_ID: 'id', FLUX_GITHUB_OAUTH_AUTHORIZE_URL: 'nope' });
    expect(error.problems).toHaveLength(2);
    expect(error.message).toContain('FLUX_GITHUB_OAUTH_AUTHORIZE_URL');
    expect(error.message).toContain('FLUX_GITHUB_OAUTH_CLIENT_SECRET, FLUX_GITHUB_OAUTH_REDIRECT_URL');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '3000.5'],
    ['PORT', '-1'],
    ['FLUX_RATE_LIMIT_ENABLED', 'sometimes'],
    ['FLUX_RATE_LIMIT_PER_NAMESPACE_PER_MINUTE', '-5'],
    ['FLUX_BODY_SIZE_LIMIT_BATCH_BYTES', '1e6'],
    ['FLUX_ENCRYPTION_KEY', 'not base64 at all!'],
    ['FLUX_ENCRYPTION_KEY', `${randomBytes(33).toString('base64')}`],
    ['FLUX_GITHUB_API_URL', 'not a url'],
    ['FLUX_GITHUB_POLL_INTERVAL_SECONDS', '0'],
    ['FLUX_MAX_ENTITY_PROPERTIES', '0'],
    ['FLUX_MAX_ENTITY_PROPERTIES', 'many'],
    ['FLUX_MAX_ENTITY_BYTES', '10'],
    ['FLUX_MAX_ENTITY_BYTES', '1GB'],
  ])('rejects %s=%s', (variable, value) => {
    const error = configError({ [variable]: value });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(new RegExp(`^${variable} `));
  });
});
