import type { ControlStore, StoredSource } from '@flux/core';
import type { PollTarget, PollTargetProvider } from '../connector-runtime.js';
import { guardedFetch } from '../http/network-guard.js';
import type { Connector } from '../connector.js';
import { DEFAULT_TAP_LIMITS, SingerTapConnector } from '../singer/singer-tap-connector.js';
import { DEFAULT_SOURCE_LIMITS, HttpSourceConnector, type HttpSourceLimits } from './http-source-connector.js';

export interface SourceTargetsOptions {
  readonly control: Pick<ControlStore, 'listSources' | 'getSource'>;
  /** Decrypts a source's credential ('' when it has none): SourceService.secretOf. */
  readonly secretOf: (source: StoredSource) => string;
  readonly allowPrivateNetworks: boolean;
  readonly limits?: Partial<HttpSourceLimits>;
  /** Singer taps that may run (FLUX_CONNECTOR_TAPS); a tap source of another tap is not polled. */
  readonly allowedTaps?: readonly string[];
  /** Time one tap run may take. */
  readonly tapTimeoutMs?: number;
}

const versionOf = (source: StoredSource): string => `source:${source.updatedAt}`;

/** The sources in the ControlStore as poll targets (paused ones are not polled). */
export class SourceTargets implements PollTargetProvider {
  private readonly fetch: typeof fetch;
  private readonly limits: HttpSourceLimits;
  /** One connector per source version, so the scan every few seconds builds nothing anew. */
  private readonly built = new Map<string, { readonly version: string; readonly connector: Connector }>();

  constructor(private readonly options: SourceTargetsOptions) {
    this.fetch = guardedFetch({ allowPrivateNetworks: options.allowPrivateNetworks });
    this.limits = { ...DEFAULT_SOURCE_LIMITS, ...options.limits };
  }

  async targets(): Promise<readonly PollTarget[]> {
    const allowedTaps = this.options.allowedTaps ?? [];
    const sources = (await this.options.control.listSources()).filter(
      (source) => !source.paused && (source.tap === undefined || allowedTaps.includes(source.tap.name)),
    );
    const live = new Set<string>();
    const targets = sources.map((source) => {
      const key = `${source.owner}\u0000${source.id}`;
      live.add(key);
      return this.targetOf(key, source);
    });
    for (const key of this.built.keys()) if (!live.has(key)) this.built.delete(key);
    return targets;
  }

  private targetOf(key: string, source: StoredSource): PollTarget {
    const version = versionOf(source);
    let built = this.built.get(key);
    if (built?.version !== version) {
      built = { version, connector: this.connectorOf(source) };
      this.built.set(key, built);
    }
    const { control, secretOf } = this.options;
    return {
      owner: source.owner,
      connector: built.connector,
      version,
      keepsCursors: true,
      token: async () => {
        const now = await control.getSource(source.owner, source.id);
        return now === undefined ? undefined : secretOf(now);
      },
      isCurrent: async () => {
        const now = await control.getSource(source.owner, source.id);
        return now !== undefined && !now.paused && versionOf(now) === version;
      },
    };
  }

  private connectorOf(source: StoredSource): Connector {
    if (source.tap !== undefined) {
      return new SingerTapConnector({
        id: source.id,
        // Looked up in PATH by spawn; only names of the admin's list get here.
        executable: source.tap.name,
        entityKeyField: source.tap.entityKeyField,
        entityPrefix: source.entityPrefix,
        streamFilter: source.tap.streamFilter,
        pollIntervalSeconds: source.pollIntervalSeconds,
        limits: { ...DEFAULT_TAP_LIMITS, ...(this.options.tapTimeoutMs === undefined ? {} : { timeoutMs: this.options.tapTimeoutMs }) },
      });
    }
    return new HttpSourceConnector({
      id: source.id,
      url: source.url,
      entityKey: source.entityKey,
      entityPrefix: source.entityPrefix,
      itemsPath: source.itemsPath,
      properties: source.properties,
      pollIntervalSeconds: source.pollIntervalSeconds,
      auth: source.auth,
      onDisappear: source.onDisappear,
      limits: this.limits,
      fetch: this.fetch,
    });
  }
}
