import type { ConnectorDefinition } from '../connectors/connector-service.js';
import { ConnectorService } from '../connectors/connector-service.js';
import { CredentialVault } from '../connectors/credential-vault.js';
import { OAuthService } from '../connectors/oauth-service.js';
import { OAuthTokenEndpoint } from '../connectors/oauth-token-endpoint.js';
import { SourceService } from '../connectors/source-service.js';
import { NamespaceService } from '../auth/namespace-service.js';
import type { Settings } from '../config/settings.js';
import type { DeletionService } from '../ingest/deletion-service.js';
import { ActivityTracker } from '../observability/activity-tracker.js';
import type { ChangeSource } from '../ports/change-feed.js';
import type { ControlStore } from '../ports/control-store.js';
import type { StateReader } from '../ports/state-store.js';
import type { ClosingOrder } from './closing-order.js';

export interface QueryRoleOptions {
  readonly settings: Settings;
  readonly control: ControlStore;
  readonly reader: StateReader;
  readonly feed: ChangeSource;
  /** Removes a deleted namespace's entities. */
  readonly deletion: Pick<DeletionService, 'deleteNamespace'>;
  /** The connectors the ingest role runs, so status reads agree with it. */
  readonly connectorDefinitions: readonly ConnectorDefinition[];
}

/** The read side and the control plane: namespaces, connector credentials, recent activity. */
export interface QueryRole {
  readonly namespaces: NamespaceService;
  readonly connectors: ConnectorService;
  readonly oauth: OAuthService;
  readonly sources: SourceService;
  readonly activity: ActivityTracker;
}

export function composeQueryRole(options: QueryRoleOptions, closing: ClosingOrder): QueryRole {
  const { settings, control, reader, feed, deletion, connectorDefinitions } = options;
  const activity = new ActivityTracker();
  closing.add(
    'activity',
    feed.subscribe((changes) => {
      if (changes.length > 0) activity.record(changes);
    }),
  );
  const namespaces = new NamespaceService(control, reader, Date.now, async (name) => {
    await deletion.deleteNamespace(name);
  });
  const vault = new CredentialVault(settings.encryptionKey);
  const refresher = settings.github.oauth === undefined ? undefined : new OAuthTokenEndpoint(settings.github.oauth);
  const connectors = new ConnectorService(control, vault, connectorDefinitions, Date.now, refresher);
  const sources = new SourceService(control, vault, {
    allowPrivateNetworks: settings.sources.allowPrivateNetworks,
    allowedTaps: settings.sources.allowedTaps,
  });
  const oauth = new OAuthService(settings.github.oauth, control, connectors);
  return { namespaces, connectors, oauth, sources, activity };
}
