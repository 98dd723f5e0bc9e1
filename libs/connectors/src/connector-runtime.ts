import { randomUUID } from 'node:crypto';
import type { ConnectorState, ControlStore, IngestService, PollLease, PollSchedule, StateReader, StoredCredential } from '@flux/core';
import { systemClock, type Clock } from './clock.js';
import { ConnectorError, CredentialRejectedError, RateLimitedError, type Connector, type Cursors, type PollResult } from './connector.js';
import { messageOf } from './http/json-http.js';
import { silentConnectorLogger, type ConnectorLogger } from './logger.js';
import { ObservationPublisher, type PublishOutcome } from './observation-publisher.js';
import { pollLeaseKey } from './poll-lease.js';

/**
 * One thing the runtime polls: a stored credential of a built-in connector, or a source. The
 * connector's name keys its state and lease; a new version is polled at once.
 */
export interface PollTarget {
  readonly owner: string;
  readonly connector: Connector;
  readonly version: string;
  /**
   * Whether the cursors of an older version are handed to the new one (sources: the keys of the
   * last listing still tell what disappeared). A new credential starts afresh.
   */
  readonly keepsCursors?: boolean;
  /** The decrypted secret ('' when none); undefined when the target was deleted meanwhile. */
  token(): Promise<string | undefined>;
  /** Whether the target still exists in this version (re-read before anything is recorded). */
  isCurrent(): Promise<boolean>;
}

/** Targets besides the credentials of built-in connectors (the sources). */
export interface PollTargetProvider {
  targets(): Promise<readonly PollTarget[]>;
}

/** Where the decrypted tokens come from (ConnectorService). */
export interface CredentialSource {
  token(owner: string, connector: string): Promise<string | undefined>;
}

export type RuntimeControlStore = Pick<
  ControlStore,
  'listCredentials' | 'getCredential' | 'getConnectorState' | 'putConnectorState' | 'getNamespace'
>;

export interface ConnectorRuntimeOptions {
  readonly connectors: readonly Connector[];
  readonly control: RuntimeControlStore;
  readonly credentials: CredentialSource;
  readonly ingest: Pick<IngestService, 'appendEvents'>;
  /** Read to skip observations the state already shows. */
  readonly state: Pick<StateReader, 'getEntity'>;
  /** Who polls which credential: an in-process lease in one process, a Redis lease in the cluster. */
  readonly lease: PollLease;
  /** Identity of this runtime in the lease (default: a random UUID). */
  readonly holder?: string;
  readonly clock?: Clock;
  readonly logger?: ConnectorLogger;
  /** How often the stored credentials are re-read (default 2 s): a new token is polled within this. */
  readonly scanIntervalMs?: number;
  /** Lease time-to-live (default 30 s); renewed every third of it while polling. */
  readonly leaseTtlMs?: number;
  /** Consecutive transient failures before the status shows `error` (default 3). */
  readonly failureThreshold?: number;
  /** First retry delay after a transient failure, doubled each time, capped by the interval (default 5 s). */
  readonly retryBaseMs?: number;
  /** Polls running at once in this process (default 4); further due credentials wait for the next scan. */
  readonly maxConcurrentPolls?: number;
  /** No poll starts while this answers false (e.g. reducers still replaying the log). */
  readonly isReady?: () => boolean;
  /** In public mode credentials of a deleted namespace are not polled. */
  readonly publicMode?: boolean;
  /** Further targets, re-read on every scan (the sources created through the API). */
  readonly sources?: PollTargetProvider;
}

/** Identifies one stored credential: storing a token again (even the same one) gives a new version. */
const credentialVersion = (credential: StoredCredential): string => credential.version ?? `${credential.createdAt}:${credential.iv}`;

interface ActivePoll {
  readonly version: string;
  readonly abort: AbortController;
  readonly done: Promise<void>;
}

/**
 * Runs the connectors: for every stored credential of a known connector, polls on the
 * connector's interval (at once when the credential is new), publishes what changed, and
 * records status and cursors in the ControlStore. A credential is polled by one holder of its
 * lease at a time; deleting it aborts its poll and stops polling at the next scan.
 */
export class ConnectorRuntime {
  private readonly connectors: Map<string, Connector>;
  private readonly lease: PollLease;
  private readonly holder: string;
  private readonly clock: Clock;
  private readonly logger: ConnectorLogger;
  private readonly publisher: ObservationPublisher;
  private readonly scanIntervalMs: number;
  private readonly leaseTtlMs: number;
  private readonly failureThreshold: number;
  private readonly retryBaseMs: number;
  private readonly maxConcurrentPolls: number;
  private readonly active = new Map<string, ActivePoll>();
  /** Credentials whose last poll crashed (store unavailable...): not retried before this time. */
  private readonly cooldown = new Map<string, number>();
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly options: ConnectorRuntimeOptions) {
    this.connectors = new Map(options.connectors.map((connector) => [connector.name, connector]));
    this.clock = options.clock ?? systemClock;
    this.lease = options.lease;
    this.holder = options.holder ?? randomUUID();
    this.logger = options.logger ?? silentConnectorLogger;
    this.scanIntervalMs = options.scanIntervalMs ?? 2_000;
    this.leaseTtlMs = options.leaseTtlMs ?? 30_000;
    this.failureThreshold = options.failureThreshold ?? 3;
    this.retryBaseMs = options.retryBaseMs ?? 5_000;
    this.maxConcurrentPolls = options.maxConcurrentPolls ?? 4;
    this.publisher = new ObservationPublisher({ ingest: options.ingest, state: options.state, clock: this.clock, logger: this.logger });
  }

  /** Starts scanning in the background. */
  start(): void {
    if (this.loop !== undefined || (this.connectors.size === 0 && this.options.sources === undefined)) return;
    this.loop = (async () => {
      while (!this.stopping.signal.aborted) {
        try {
          // The polls run on in the background: tracked in this.active, awaited by stop().
          void (await this.scan());
        } catch (error) {
          this.logger.warn({ err: error }, 'connector scan failed');
        }
        await this.clock.sleep(this.scanIntervalMs, this.stopping.signal);
      }
    })();
  }

  /** Stops scanning, aborts polls in flight and waits for them. */
  async stop(): Promise<void> {
    this.stopping.abort();
    for (const poll of this.active.values()) poll.abort.abort();
    await this.loop;
    await Promise.all([...this.active.values()].map((poll) => poll.done));
  }

  /** One scan; resolves once the polls it started have finished (tests, and manual triggering). */
  async runOnce(): Promise<void> {
    await Promise.all(await this.scan());
  }

  /** Credentials currently being polled by this runtime (`connector:owner` keys). */
  get polling(): readonly string[] {
    return [...this.active.keys()];
  }

  private async scan(): Promise<Promise<void>[]> {
    if (this.stopping.signal.aborted || (this.options.isReady !== undefined && !this.options.isReady())) return [];
    const targets = await this.targets();
    const present = new Map(targets.map((target) => [pollLeaseKey(target.connector.name, target.owner), target]));
    // A deleted or replaced credential (or source) stops being polled now.
    for (const [key, poll] of this.active) {
      const target = present.get(key);
      if (target === undefined || target.version !== poll.version) poll.abort.abort();
    }
    const started: Promise<void>[] = [];
    for (const key of this.cooldown.keys()) if (!present.has(key)) this.cooldown.delete(key);
    for (const [key, target] of present) {
      if (this.active.size >= this.maxConcurrentPolls) break;
      if (this.active.has(key) || (this.cooldown.get(key) ?? 0) > this.clock.now()) continue;
      const state = await this.options.control.getConnectorState(target.owner, target.connector.name);
      if (this.dueAt(target, state) > this.clock.now()) continue;
      started.push(this.launch(key, target));
    }
    return started;
  }

  private async targets(): Promise<PollTarget[]> {
    const stored = (await this.options.control.listCredentials()).filter((credential) => this.connectors.has(credential.connector));
    const targets = stored.map((credential) => this.credentialTarget(this.connectors.get(credential.connector)!, credential));
    if (this.options.sources !== undefined) targets.push(...(await this.options.sources.targets()));
    return targets;
  }

  private credentialTarget(connector: Connector, credential: StoredCredential): PollTarget {
    const { owner } = credential;
    const version = credentialVersion(credential);
    return {
      owner,
      connector,
      version,
      token: () => this.options.credentials.token(owner, connector.name),
      isCurrent: async () => {
        const now = await this.options.control.getCredential(owner, connector.name);
        return now !== undefined && credentialVersion(now) === version;
      },
    };
  }

  /** When the target's next poll is due (epoch ms); 0 for a target never polled in this version. */
  private dueAt(target: PollTarget, state: ConnectorState | undefined): number {
    const { connector } = target;
    const schedule = state?.schedule;
    if (schedule === undefined || schedule.credentialVersion !== target.version) return 0;
    const intervalMs = connector.pollIntervalSeconds * 1000;
    const last = state?.lastPoll ?? 0;
    // A shorter interval configured since applies at once; a rate-limit wait always holds.
    return Math.max(Math.min(schedule.nextPoll, last + intervalMs), schedule.notBefore ?? 0);
  }

  private launch(key: string, target: PollTarget): Promise<void> {
    const { connector } = target;
    const abort = new AbortController();
    const done = this.pollTarget(key, target, abort)
      .then(
        () => {
          this.cooldown.delete(key);
        },
        (error: unknown) => {
          // Status could not be recorded (store down...): back off locally instead of retrying every scan.
          this.cooldown.set(key, this.clock.now() + this.retryBaseMs);
          this.logger.error({ err: error, connector: connector.name, owner: target.owner }, 'connector poll crashed');
        },
      )
      .finally(() => {
        if (this.active.get(key)?.abort === abort) this.active.delete(key);
      });
    this.active.set(key, { version: target.version, abort, done });
    return done;
  }

  private async pollTarget(key: string, target: PollTarget, abort: AbortController): Promise<void> {
    const { owner, connector } = target;
    if (this.options.publicMode === true && owner !== '' && (await this.options.control.getNamespace(owner)) === undefined) return;
    if (!(await this.lease.acquire(key, this.holder, this.leaseTtlMs))) return;
    const renewal = this.keepLease(key, abort);
    try {
      // Another process may have polled between our scan and the lease.
      const state = await this.options.control.getConnectorState(owner, connector.name);
      if (this.dueAt(target, state) > this.clock.now()) return;
      const sameCredential = state !== undefined && state.schedule?.credentialVersion === target.version;
      const previousCursors = sameCredential || (target.keepsCursors === true && state !== undefined) ? state.cursors : {};

      let result: PollResult;
      try {
        const token = await target.token();
        if (token === undefined) return; // deleted meanwhile
        this.logger.debug({ connector: connector.name, owner }, 'connector poll starting');
        result = await connector.poll({
          token,
          owner,
          cursors: previousCursors,
          signal: abort.signal,
          clock: this.clock,
          logger: this.logger,
        });
      } catch (error) {
        if (abort.signal.aborted) return;
        if (!(await target.isCurrent())) return;
        await this.recordFailure(target, sameCredential ? state : undefined, previousCursors, error);
        return;
      }
      if (abort.signal.aborted || !(await target.isCurrent())) return;
      let outcome: PublishOutcome;
      try {
        outcome = await this.publisher.publish(connector, owner, result.observations);
      } catch (error) {
        // The previous cursors stay, so the next poll fetches these observations again.
        await this.recordFailure(target, sameCredential ? state : undefined, previousCursors, error);
        return;
      }
      if (!(await target.isCurrent())) return;
      const now = this.clock.now();
      // A poll cut short by a rate limit resumes as soon as the limit resets.
      const nextPoll = result.incomplete === true && result.notBefore !== undefined ? result.notBefore : now + connector.pollIntervalSeconds * 1000;
      await this.options.control.putConnectorState(owner, connector.name, {
        lastPoll: now,
        lastError: null,
        consecutiveFailures: 0,
        cursors: result.cursors,
        schedule: scheduleFor(target, now, nextPoll, result.notBefore),
        ...(result.seen === undefined ? {} : { itemsSeen: result.seen }),
      });
      const log = outcome.published > 0 || result.notBefore !== undefined ? this.logger.info : this.logger.debug;
      log.call(
        this.logger,
        {
          connector: connector.name,
          owner,
          observed: result.observations.length,
          ...outcome,
          ...(result.notBefore === undefined ? {} : { waitingUntil: new Date(result.notBefore).toISOString() }),
        },
        'connector poll finished',
      );
    } finally {
      renewal.stop();
      await this.lease.release(key, this.holder).catch((error: unknown) => {
        this.logger.warn({ err: error, connector: connector.name, owner }, 'connector lease release failed');
      });
    }
  }

  /** Renews the lease while polling; losing it aborts the poll (someone else polls now). */
  private keepLease(key: string, abort: AbortController): { stop(): void } {
    const stopped = new AbortController();
    const signal = AbortSignal.any([stopped.signal, abort.signal]);
    void (async () => {
      while (!signal.aborted) {
        await this.clock.sleep(this.leaseTtlMs / 3, signal);
        if (signal.aborted) return;
        const held = await this.lease.renew(key, this.holder, this.leaseTtlMs).catch(() => false);
        if (!held) {
          this.logger.warn({ lease: key }, 'connector lease lost; abandoning the poll');
          abort.abort();
        }
      }
    })();
    return { stop: () => stopped.abort() };
  }

  private async recordFailure(target: PollTarget, state: ConnectorState | undefined, cursors: Cursors, error: unknown): Promise<void> {
    const { connector, owner } = target;
    const now = this.clock.now();
    const kept = state?.itemsSeen === undefined ? {} : { itemsSeen: state.itemsSeen };
    if (error instanceof RateLimitedError) {
      // Not a failure: the service asked us to wait. Nothing was gathered, the cursors stay.
      await this.options.control.putConnectorState(owner, connector.name, {
        lastPoll: now,
        lastError: state?.lastError ?? null,
        consecutiveFailures: state?.consecutiveFailures ?? 0,
        cursors,
        schedule: scheduleFor(target, now, error.until, error.until),
        ...kept,
      });
      this.logger.warn({ connector: connector.name, owner, until: new Date(error.until).toISOString() }, 'connector rate limited');
      return;
    }
    const failures = (state?.consecutiveFailures ?? 0) + 1;
    const permanent = error instanceof ConnectorError && error.permanent;
    const message = error instanceof ConnectorError ? error.message : messageOf(error);
    const intervalMs = connector.pollIntervalSeconds * 1000;
    const retryMs = error instanceof CredentialRejectedError ? intervalMs : Math.min(intervalMs, this.retryBaseMs * 2 ** Math.min(failures - 1, 20));
    const shown = permanent
      ? message
      : failures >= this.failureThreshold
        ? `${message} (${failures} consecutive failures)`
        : (state?.lastError ?? null);
    await this.options.control.putConnectorState(owner, connector.name, {
      lastPoll: now,
      lastError: shown,
      consecutiveFailures: failures,
      cursors,
      schedule: scheduleFor(target, now, now + retryMs, state?.schedule?.notBefore ?? undefined),
      ...kept,
    });
    this.logger.warn({ connector: connector.name, owner, failures, err: error }, 'connector poll failed');
  }
}

function scheduleFor(target: PollTarget, now: number, nextPoll: number, notBefore: number | undefined): PollSchedule {
  return {
    credentialVersion: target.version,
    nextPoll,
    // A wait that is over needs no keeping.
    notBefore: notBefore !== undefined && Number.isFinite(notBefore) && notBefore > now ? notBefore : null,
  };
}
