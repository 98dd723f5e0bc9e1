import type { Properties } from '@flux/domain';
import type { Clock } from './clock.js';
import type { ConnectorLogger } from './logger.js';

/** What a connector reads and writes between polls: opaque strings it alone interprets. */
export type Cursors = Readonly<Record<string, string>>;

/** Everything one poll of one credential gets. */
export interface PollContext {
  /** The decrypted credential (a GitHub PAT, an API key...). */
  readonly token: string;
  /** Namespace owning the credential ('' in internal mode). The runtime prefixes entity ids with it. */
  readonly owner: string;
  /** The cursors returned by the last poll of this credential ({} on the first poll or after a token change). */
  readonly cursors: Cursors;
  /** Aborted when the credential is deleted, the lease is lost or the runtime stops. */
  readonly signal: AbortSignal;
  readonly clock: Clock;
  readonly logger: ConnectorLogger;
}

/** One external object as seen now, to become (at most) one event. */
export interface Observation {
  /** Entity id without the namespace prefix, e.g. `github/repo/octo/flux`. */
  readonly entityId: string;
  readonly properties: Properties;
  /** When the external object last changed (epoch ms), used as the event timestamp when known. */
  readonly observedAt?: number;
}

export interface PollResult {
  /** Observed objects. Unchanged ones may be included: the runtime publishes only what differs from the state. */
  readonly observations: readonly Observation[];
  /** The complete cursor set to hand to the next poll (replaces the previous one). */
  readonly cursors: Cursors;
  /** The remote service asked to wait (rate limit): no request before this time (epoch ms). */
  readonly notBefore?: number;
  /**
   * The poll stopped early (rate limit): the observations and cursors gathered so far are kept,
   * and the next poll resumes as soon as `notBefore` allows instead of after the interval.
   */
  readonly incomplete?: boolean;
  /** Items the poll listed (sources), shown as items_seen. */
  readonly seen?: number;
}

/**
 * A connector: stateless apart from its configuration. Everything it must remember between polls
 * goes into the cursors, which the runtime persists (in the ControlStore) together with the
 * status, so any process can run the next poll.
 */
export interface Connector {
  /** The name used in the API (`/api/connectors/:name`) and in the ControlStore. */
  readonly name: string;
  /** The stream the connector's events are published on (matches ^[a-z0-9]+(\.[a-z0-9]+)*$). */
  readonly stream: string;
  readonly pollIntervalSeconds: number;
  /** Polls once. Throws a ConnectorError (or any error) when the poll failed. */
  poll(context: PollContext): Promise<PollResult>;
}

/** A failure the runtime reports as is. `permanent` failures show as `error` status at once. */
export class ConnectorError extends Error {
  readonly permanent: boolean;
  constructor(message: string, options: { permanent?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConnectorError';
    this.permanent = options.permanent ?? false;
  }
}

/** The remote service refused the credential (HTTP 401): retrying before the next interval is pointless. */
export class CredentialRejectedError extends ConnectorError {
  constructor(message: string) {
    super(message, { permanent: true });
    this.name = 'CredentialRejectedError';
  }
}

/** The remote service asked us to wait (rate limit) until `until` (epoch ms). */
export class RateLimitedError extends ConnectorError {
  constructor(
    message: string,
    readonly until: number,
  ) {
    super(message);
    this.name = 'RateLimitedError';
  }
}

/** Converts a string to a valid stream segment list: `http-json` becomes `http.json`. */
export function streamSegmentsOf(name: string): string {
  const segments = name
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((segment) => segment !== '');
  return segments.length === 0 ? 'unnamed' : segments.join('.');
}
