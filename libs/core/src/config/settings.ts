import { z } from 'zod';
import {
  DEFAULT_ENTITY_BOUND,
  DEFAULT_RUNTIME_CONFIG,
  MAX_BODY_LIMIT_BYTES,
  RUNTIME_CONFIG_FLOORS,
  type EntityBound,
  type RuntimeConfig,
} from '@flux/domain';
import { DEFAULT_CHANGE_RETENTION_OFFSETS } from '../ports/change-replay.js';
import { readGitHubOAuthSettings, type GitHubOAuthSettings } from './github-oauth-settings.js';

/** Everything a Flux process reads from its environment, parsed once at start-up. */
export interface Settings {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly logLevel: string;
  readonly authEnabled: boolean;
  readonly adminToken: string | undefined;
  /** 32-byte AES-256-GCM key for connector credentials, when configured. */
  readonly encryptionKey: Buffer | undefined;
  /** Runtime config used when none has been persisted yet. */
  readonly initialRuntimeConfig: RuntimeConfig;
  readonly maxBatchDelete: number;
  /**
   * The largest entity kept. Ingest refuses an event that exceeds it on its own; the reducer
   * skips one that would push its entity past it. Ingest and reducers should agree on it.
   */
  readonly entityBound: EntityBound;
  /** How long a stopping process may drain before it exits anyway (non-zero). */
  readonly shutdownTimeoutMs: number;
  /** Partitions of the event log; fixed when the log is created. */
  readonly partitionCount: number;
  /**
   * Log offsets of each partition whose changes the store keeps for WebSocket subscribers that
   * resume from a position (`since`); older positions get resync_required.
   */
  readonly changeRetentionOffsets: number;
  /** Upper bound of one list response (paged or not). */
  readonly listMaxLimit: number;
  /** Timeouts that keep slow or idle clients from holding sockets and memory. */
  readonly http: HttpTimeouts;
  /** Requests that wait for events to be applied (wait=applied, min_position, conditional writes). */
  readonly wait: {
    /** How long one waits when it does not say (`timeout_ms`). */
    readonly defaultTimeoutMs: number;
    /** Requests of this process waiting at once; one more gets 503. */
    readonly maxWaiting: number;
  };
  readonly websocket: {
    readonly metricsIntervalMs: number;
    /** A client whose unsent data exceeds this is disconnected as a slow consumer. */
    readonly maxBufferedBytes: number;
    /** Total bytes of subscription ids one connection may hold; further subscribes are ignored. */
    readonly maxSubscriptionBytes: number;
    /** Open connections per client address (0: unlimited); more are refused with 429. */
    readonly maxConnectionsPerAddress: number;
  };
  /** How partition writers find and delete expired entities (ttl_seconds). */
  readonly ttlSweep: {
    readonly intervalMs: number;
    /** Entities one partition deletes per tick at most. */
    readonly maxPerTick: number;
  };
  readonly github: {
    readonly apiUrl: string;
    readonly pollIntervalSeconds: number;
    /** Undefined when OAuth is not configured (tokens are then set as PATs only). */
    readonly oauth: GitHubOAuthSettings | undefined;
  };
  /** Sources created through the API. */
  readonly sources: {
    /** Let sources reach loopback, private and link-local addresses (off: refused, checked after DNS). */
    readonly allowPrivateNetworks: boolean;
    /** Singer tap executables sources may run (names looked up in PATH when run). */
    readonly allowedTaps: readonly string[];
    /** Time one tap run may take. */
    readonly tapTimeoutMs: number;
  };
  /** The MCP endpoint at /mcp. */
  readonly mcp: {
    /** Sessions kept at once (0: no /mcp); past it the least recently used idle one is closed. */
    readonly maxSessions: number;
    /** A session without a request (or an open notification stream) for this long is closed. */
    readonly sessionIdleMs: number;
  };
}

export interface HttpTimeouts {
  /** Time allowed to receive a request's headers. */
  readonly headersTimeoutMs: number;
  /** Time allowed to receive a whole request, headers and body. */
  readonly requestTimeoutMs: number;
  /** How long an idle keep-alive connection is kept open. */
  readonly keepAliveTimeoutMs: number;
}

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** Collects every problem instead of stopping at the first, so one restart fixes them all. */
export class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  private raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  optionalString(name: string): string | undefined {
    return this.raw(name);
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (TRUE.has(value)) return true;
    if (FALSE.has(value)) return false;
    this.problems.push(`${name} must be true or false, got "${this.env[name]}"`);
    return fallback;
  }

  /** Comma-separated Singer tap names (`tap-` followed by a-z, 0-9, - and _). */
  tapNames(name: string): string[] {
    const names = (this.raw(name) ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    const bad = names.filter((entry) => !/^tap-[a-z0-9_-]{1,60}$/.test(entry));
    if (bad.length > 0) this.problems.push(`${name} must list tap names (tap-<name>), got ${bad.map((entry) => `"${entry}"`).join(', ')}`);
    return names.filter((entry) => !bad.includes(entry));
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
      return fallback;
    }
    return parsed;
  }

  url(name: string, fallback: string): string {
    const value = this.raw(name) ?? fallback;
    if (!z.url({ protocol: /^https?$/ }).safeParse(value).success) {
      this.problems.push(`${name} must be an http(s) URL, got "${value}"`);
      return fallback;
    }
    return value.replace(/\/+$/, '');
  }

  encryptionKey(name: string): Buffer | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    const key = Buffer.from(value, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || key.length !== 32) {
      this.problems.push(`${name} must be the base64 encoding of exactly 32 bytes (openssl rand -base64 32)`);
      return undefined;
    }
    return key;
  }
}

/** The longest a request may wait for events to be applied (`timeout_ms`, FLUX_WAIT_TIMEOUT_MS). */
export const MAX_WAIT_TIMEOUT_MS = 60_000;

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Parses the environment; throws a ConfigError naming every bad variable. */
export function parseSettings(env: Env = process.env): Settings {
  const read = new EnvReader(env);
  const settings = readSettings(read);
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return settings;
}

/** Reads the settings every Flux process shares, recording problems in `read`. */
export function readSettings(read: EnvReader): Settings {
  const logLevel = read.string('FLUX_LOG_LEVEL', 'info');
  if (!LOG_LEVELS.has(logLevel)) read.problems.push(`FLUX_LOG_LEVEL must be one of ${[...LOG_LEVELS].join(', ')}`);
  const settings: Settings = {
    port: read.integer('PORT', 3000, 0, 65_535),
    host: read.string('HOST', '0.0.0.0'),
    dataDir: read.string('FLUX_DATA_DIR', './.flux-data'),
    logLevel,
    authEnabled: read.boolean('FLUX_AUTH_ENABLED', false),
    adminToken: read.optionalString('FLUX_ADMIN_TOKEN'),
    encryptionKey: read.encryptionKey('FLUX_ENCRYPTION_KEY'),
    initialRuntimeConfig: {
      rate_limit_enabled: read.boolean('FLUX_RATE_LIMIT_ENABLED', DEFAULT_RUNTIME_CONFIG.rate_limit_enabled),
      rate_limit_per_namespace_per_minute: read.integer(
        'FLUX_RATE_LIMIT_PER_NAMESPACE_PER_MINUTE',
        DEFAULT_RUNTIME_CONFIG.rate_limit_per_namespace_per_minute,
        RUNTIME_CONFIG_FLOORS.rate_limit_per_namespace_per_minute,
        Number.MAX_SAFE_INTEGER,
      ),
      body_size_limit_single_bytes: read.integer(
        'FLUX_BODY_SIZE_LIMIT_SINGLE_BYTES',
        DEFAULT_RUNTIME_CONFIG.body_size_limit_single_bytes,
        RUNTIME_CONFIG_FLOORS.body_size_limit_single_bytes,
        MAX_BODY_LIMIT_BYTES,
      ),
      body_size_limit_batch_bytes: read.integer(
        'FLUX_BODY_SIZE_LIMIT_BATCH_BYTES',
        DEFAULT_RUNTIME_CONFIG.body_size_limit_batch_bytes,
        RUNTIME_CONFIG_FLOORS.body_size_limit_batch_bytes,
        MAX_BODY_LIMIT_BYTES,
      ),
    },
    maxBatchDelete: read.integer('FLUX_MAX_BATCH_DELETE', 10_000, 1, 1_000_000),
    entityBound: {
      maxProperties: read.integer('FLUX_MAX_ENTITY_PROPERTIES', DEFAULT_ENTITY_BOUND.maxProperties, 1, 10_000_000),
      // Below 64 bytes an entity could hardly hold one property; an entity is read and stored whole, so it stays within the largest body.
      maxBytes: read.integer('FLUX_MAX_ENTITY_BYTES', DEFAULT_ENTITY_BOUND.maxBytes, 64, MAX_BODY_LIMIT_BYTES),
    },
    shutdownTimeoutMs: read.integer('FLUX_SHUTDOWN_TIMEOUT_MS', 20_000, 100, 3_600_000),
    partitionCount: read.integer('FLUX_PARTITIONS', 8, 1, 1024),
    changeRetentionOffsets: read.integer('FLUX_CHANGE_RETENTION_OFFSETS', DEFAULT_CHANGE_RETENTION_OFFSETS, 0, 1_000_000_000),
    listMaxLimit: read.integer('FLUX_LIST_MAX_LIMIT', 10_000, 1, 1_000_000),
    http: {
      headersTimeoutMs: read.integer('FLUX_HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000),
      requestTimeoutMs: read.integer('FLUX_HTTP_REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000),
      keepAliveTimeoutMs: read.integer('FLUX_HTTP_KEEP_ALIVE_TIMEOUT_MS', 72_000, 100, 3_600_000),
    },
    wait: {
      defaultTimeoutMs: read.integer('FLUX_WAIT_TIMEOUT_MS', 5_000, 1, MAX_WAIT_TIMEOUT_MS),
      maxWaiting: read.integer('FLUX_MAX_WAITING_REQUESTS', 10_000, 1, 1_000_000),
    },
    websocket: {
      metricsIntervalMs: read.integer('FLUX_WS_METRICS_INTERVAL_MS', 2000, 100, 3_600_000),
      maxBufferedBytes: read.integer('FLUX_WS_MAX_BUFFERED_BYTES', 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      maxSubscriptionBytes: read.integer('FLUX_WS_MAX_SUBSCRIPTION_BYTES', 1024 * 1024, 1024, 1024 * 1024 * 1024),
      maxConnectionsPerAddress: read.integer('FLUX_WS_MAX_CONNECTIONS_PER_ADDRESS', 256, 0, 1_000_000),
    },
    ttlSweep: {
      intervalMs: read.integer('FLUX_TTL_SWEEP_INTERVAL_MS', 1000, 10, 3_600_000),
      maxPerTick: read.integer('FLUX_TTL_SWEEP_MAX_PER_TICK', 1000, 1, 100_000),
    },
    github: {
      apiUrl: read.url('FLUX_GITHUB_API_URL', 'https://api.github.com'),
      pollIntervalSeconds: read.integer('FLUX_GITHUB_POLL_INTERVAL_SECONDS', 300, 1, 86_400),
      oauth: readGitHubOAuthSettings(read),
    },
    sources: {
      allowPrivateNetworks: read.boolean('FLUX_CONNECTOR_ALLOW_PRIVATE_NETWORKS', false),
      allowedTaps: read.tapNames('FLUX_CONNECTOR_TAPS'),
      tapTimeoutMs: read.integer('FLUX_CONNECTOR_TAP_TIMEOUT_SECONDS', 300, 1, 3600) * 1000,
    },
    mcp: {
      maxSessions: read.integer('FLUX_MCP_MAX_SESSIONS', 100, 0, 100_000),
      sessionIdleMs: read.integer('FLUX_MCP_SESSION_IDLE_SECONDS', 600, 1, 86_400) * 1000,
    },
  };
  if (settings.http.headersTimeoutMs > settings.http.requestTimeoutMs) {
    read.problems.push('FLUX_HTTP_HEADERS_TIMEOUT_MS must not exceed FLUX_HTTP_REQUEST_TIMEOUT_MS');
  }
  return settings;
}
