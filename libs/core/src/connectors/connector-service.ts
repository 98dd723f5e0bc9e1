import { z } from 'zod';
import { ErrorCode, FluxError, formatIssues } from '@flux/domain';
import type { ControlStore } from '../ports/control-store.js';
import type { CredentialVault } from './credential-vault.js';

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
    const sealed = this.vault.seal(parsed.data.token, context(owner, name));
    await this.control.putCredential({ connector: name, owner, ...sealed, createdAt: this.now() });
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

  /** The decrypted token, for the connector runtime only. */
  async token(owner: string, name: string): Promise<string | undefined> {
    const credential = await this.control.getCredential(owner, name);
    return credential === undefined ? undefined : this.vault.open(credential, context(owner, name));
  }

  private definition(name: string): ConnectorDefinition {
    const definition = this.definitions.get(name);
    if (definition === undefined) throw new FluxError(ErrorCode.NotFound, `unknown connector "${name}"`);
    return definition;
  }
}

const summaryOf = ({ name, enabled, status }: ConnectorDetail): ConnectorSummary => ({ name, enabled, status });
