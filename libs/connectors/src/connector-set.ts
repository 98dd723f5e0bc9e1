import type { ConnectorDefinition, Settings } from '@flux/core';
import type { Connector } from './connector.js';
import { GitHubConnector } from './github/github-connector.js';
import { httpJsonConfigFromEnv } from './http-json/http-json-config.js';
import { HttpJsonConnector } from './http-json/http-json-connector.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The connectors a deployment offers: GitHub always (FLUX_GITHUB_API_URL,
 * FLUX_GITHUB_POLL_INTERVAL_SECONDS), the generic HTTP JSON poller when FLUX_HTTP_CONNECTOR_URL
 * is set. Throws a ConfigError when the HTTP connector's variables are invalid.
 */
export function configuredConnectors(settings: Pick<Settings, 'github'>, env: Env = process.env): Connector[] {
  const connectors: Connector[] = [new GitHubConnector({ apiUrl: settings.github.apiUrl, pollIntervalSeconds: settings.github.pollIntervalSeconds })];
  const httpJson = httpJsonConfigFromEnv(env);
  if (httpJson !== undefined) connectors.push(new HttpJsonConnector(httpJson));
  return connectors;
}

/** What ConnectorService needs to know of each connector. */
export const connectorDefinitions = (connectors: readonly Connector[]): ConnectorDefinition[] =>
  connectors.map(({ name, pollIntervalSeconds }) => ({ name, pollIntervalSeconds }));
