import { z } from 'zod';
import { ErrorCode, FluxError, formatIssues } from '@flux/domain';
import type { ControlStore, StoredCredential } from '../ports/control-store.js';
import type { CredentialVault } from './credential-vault.js';
import type { OAuthGrant } from './oauth-token-endpoint.js';

/** Renews an expiring OAuth token (the provider's refresh grant). */
export interface TokenRefresher {
  refresh(refreshToken: string): Promise<OAuthGrant>;
}

/** A token this close to its expiry is refreshed before use. */
const REFRESH_MARGIN_MS = 60_000;

/** A connector Flux knows how to run. */
export interface ConnectorDefinition {
  readonly name: string;
  readonly pollIntervalSeconds: number;
}

export type ConnectorStatus = 'configured' | 'not_configured' | 'error';

export interface ConnectorSummary {
  readonly name: string;
  readonly enabled: boolean;
  readonly status: ConnectorStatus;
}

export interface ConnectorDetail extends ConnectorSummary {
  readonly poll_interval_seconds: number;
  readonly last_poll: string | null;
  readonly last_error: string | null;
}

const tokenBodySchema = z.object({ token: z.string({ error: 'is required and must be a string' }).min(1, { error: 'must not be empty' }) });

const context = (owner: string, connector: string): string => `flux-credential:${owner}:${connector}`;
const refreshContext = (owner: string, connector: string): string => `flux-refresh-token:${owner}:${connector}`;
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * Connector credentials and status. `owner` is the namespace of the caller in public mode
 * and '' in internal mode: credentials always belong to someone.
 */
export class ConnectorService {
  private readonly definitions: Map<string, ConnectorDefinition>;

  constructor(
    private readonly control: ControlStore,
    private readonly vault: CredentialVault,
    definitions: readonly ConnectorDefinition[],
    private readonly now: () => number = Date.now,
    /** Set when OAuth is configured: expiring OAuth tokens are refreshed with it. */
    private readonly refresher?: TokenRefresher,
  ) {
    this.definitions = new Map(definitions.map((definition) => [definition.name, definition]));
  }

  async list(owner: string): Promise<ConnectorSummary[]> {
    return Promise.all([...this.definitions.keys()].map(async (name) => summaryOf(await this.detail(owner, name))));
  }

  async detail(owner: string, name: string): Promise<ConnectorDetail> {
    const definition = this.definition(name);
    const [credential, state] = await Promise.all([this.control.getCredential(owner, name), this.control.getConnectorState(owner, name)]);
    const enabled = credential !== undefined;
    const failing = enabled && state?.lastError !== undefined && state.lastError !== null;
    return {
      name,
      enabled,
      status: !enabled ? 'not_configured' : failing ? 'error' : 'configured',
      poll_interval_seconds: definition.pollIntervalSeconds,
      last_poll: iso(state?.lastPoll ?? null),
      last_error: enabled ? (state?.lastError ?? null) : null,
    };
  }

  async storeToken(owner: string, name: string, body: unknown): Promise<void> {
    this.definition(name);
    const parsed = tokenBodySchema.safeParse(body);
    if (!parsed.success) throw new FluxError(ErrorCode.Validation, formatIssues(parsed.error.issues));
    await this.storeGrant(owner, name, { accessToken: parsed.data.token });
  }

  /** Stores an OAuth grant like a token set by hand, with its refresh token and expiry when given. */
  async storeGrant(owner: string, name: string, grant: OAuthGrant): Promise<void> {
    this.definition(name);
    await this.control.putCredential(this.sealGrant(owner, name, grant));
    // A new credential starts with a clean slate: old errors belonged to the old token.
    const previous = await this.control.getConnectorState(owner, name);
    await this.control.putConnectorState(owner, name, {
      lastPoll: previous?.lastPoll ?? null,
      lastError: null,
      consecutiveFailures: 0,
      cursors: previous?.cursors ?? {},
      // The runtime sees the schedule belongs to the old credential and polls at once.
      ...(previous?.schedule === undefined ? {} : { schedule: previous.schedule }),
    });
  }

  async deleteToken(owner: string, name: string): Promise<void> {
    this.definition(name);
    if (!(await this.control.deleteCredential(owner, name))) {
      throw new FluxError(ErrorCode.NotFound, `no ${name} credential is stored`);
    }
  }

  /** The decrypted token, for the connector runtime only; an expiring OAuth token is refreshed first. */
  async token(owner: string, name: string): Promise<string | undefined> {
    const credential = await this.control.getCredential(owner, name);
    if (credential === undefined) return undefined;
    const { refresh, expiresAt } = credential;
    if (refresh === undefined || expiresAt === undefined || this.refresher === undefined || expiresAt - REFRESH_MARGIN_MS > this.now()) {
      return this.vault.open(credential, context(owner, name));
    }
    const refreshToken = this.vault.open(refresh, refreshContext(owner, name));
    const grant = await this.refresher.refresh(refreshToken);
    const renewed = this.sealGrant(owner, name, { refreshToken, ...grant });
    // The renewed token keeps the grant's version: it is the same authorization.
    await this.control.putCredential({ ...renewed, version: credential.version ?? `${credential.createdAt}:${credential.iv}` });
    return grant.accessToken;
  }

  private sealGrant(owner: string, name: string, grant: OAuthGrant): StoredCredential {
    const sealed = this.vault.seal(grant.accessToken, context(owner, name));
    const now = this.now();
    return {
      connector: name,
      owner,
      ...sealed,
      createdAt: now,
      ...(grant.refreshToken === undefined ? {} : { refresh: this.vault.seal(grant.refreshToken, refreshContext(owner, name)) }),
      ...(grant.expiresInSeconds === undefined ? {} : { expiresAt: now + grant.expiresInSeconds * 1000 }),
    };
  }

  private definition(name: string): ConnectorDefinition {
    const definition = this.definitions.get(name);
    if (definition === undefined) throw new FluxError(ErrorCode.NotFound, `unknown connector "${name}"`);
    return definition;
  }
}

const summaryOf = ({ name, enabled, status }: ConnectorDetail): ConnectorSummary => ({ name, enabled, status });
