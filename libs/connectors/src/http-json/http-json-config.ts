import { ConfigError } from '@flux/core';
import type { HttpJsonAuth, HttpJsonConnectorConfig } from './http-json-connector.js';

type Env = Readonly<Record<string, string | undefined>>;

const NAME = /^[a-z0-9][a-z0-9_-]{1,31}$/;
const RESERVED_NAMES = new Set(['github']);

/**
 * The generic HTTP JSON connector's configuration from the environment, or undefined when
 * FLUX_HTTP_CONNECTOR_URL is not set (the connector is then not offered at all):
 *
 * - FLUX_HTTP_CONNECTOR_URL                    the URL polled (http or https), required
 * - FLUX_HTTP_CONNECTOR_NAME                   connector name (default `http-json`)
 * - FLUX_HTTP_CONNECTOR_ITEMS_PATH             dot path of the item array (default: the response itself)
 * - FLUX_HTTP_CONNECTOR_ID_FIELD               item id field (default `id`)
 * - FLUX_HTTP_CONNECTOR_ENTITY_PREFIX          entity id prefix (default the connector name)
 * - FLUX_HTTP_CONNECTOR_FIELDS                 comma-separated fields to publish (default: all)
 * - FLUX_HTTP_CONNECTOR_UPDATED_FIELD          item field with its last-change time (optional)
 * - FLUX_HTTP_CONNECTOR_POLL_INTERVAL_SECONDS  default 300
 * - FLUX_HTTP_CONNECTOR_AUTH                   `bearer` (default), `none`, or `header:<Header-Name>`
 *
 * Throws a ConfigError naming every bad variable.
 */
export function httpJsonConfigFromEnv(env: Env): HttpJsonConnectorConfig | undefined {
  const read = (name: string): string | undefined => {
    const value = env[`FLUX_HTTP_CONNECTOR_${name}`]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const url = read('URL');
  if (url === undefined) return undefined;
  const problems: string[] = [];

  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') problems.push(`FLUX_HTTP_CONNECTOR_URL must be an http(s) URL, got "${url}"`);
  } catch {
    problems.push(`FLUX_HTTP_CONNECTOR_URL must be an http(s) URL, got "${url}"`);
  }

  const name = read('NAME') ?? 'http-json';
  if (!NAME.test(name) || RESERVED_NAMES.has(name)) {
    problems.push(`FLUX_HTTP_CONNECTOR_NAME must be 2 to 32 characters of a-z, 0-9, _ and - (not "github"), got "${name}"`);
  }

  const intervalText = read('POLL_INTERVAL_SECONDS');
  const interval = intervalText === undefined ? 300 : Number(intervalText);
  if (!Number.isSafeInteger(interval) || interval < 1 || interval > 86_400) {
    problems.push(`FLUX_HTTP_CONNECTOR_POLL_INTERVAL_SECONDS must be an integer from 1 to 86400, got "${intervalText}"`);
  }

  const authText = read('AUTH') ?? 'bearer';
  let auth: HttpJsonAuth = { kind: 'bearer' };
  if (authText === 'none') auth = { kind: 'none' };
  else if (authText.startsWith('header:') && /^[A-Za-z0-9-]+$/.test(authText.slice('header:'.length))) {
    auth = { kind: 'header', name: authText.slice('header:'.length).toLowerCase() };
  } else if (authText !== 'bearer') {
    problems.push(`FLUX_HTTP_CONNECTOR_AUTH must be bearer, none or header:<Header-Name>, got "${authText}"`);
  }

  const prefix = (read('ENTITY_PREFIX') ?? name).replace(/^\/+|\/+$/g, '');
  if (prefix === '') problems.push('FLUX_HTTP_CONNECTOR_ENTITY_PREFIX must not be empty');

  const itemsPath = (read('ITEMS_PATH') ?? '').split('.').filter((segment) => segment !== '');
  const fields = read('FIELDS')
    ?.split(',')
    .map((field) => field.trim())
    .filter((field) => field !== '');
  const updatedField = read('UPDATED_FIELD');

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    name,
    url,
    itemsPath,
    idField: read('ID_FIELD') ?? 'id',
    entityPrefix: prefix,
    ...(fields === undefined || fields.length === 0 ? {} : { fields }),
    ...(updatedField === undefined ? {} : { updatedField }),
    pollIntervalSeconds: interval,
    auth,
  };
}
