import {
  ErrorCode,
  FluxError,
  splitEntityJson,
  type ChangeRecord,
  type CommitProgress,
  type EntityCounts,
  type EntityTtl,
  type EventOutcome,
  type FluxEvent,
  type LogPosition,
  type Properties,
  type PropertyChange,
  type StoredEntity,
  type StoredEvent,
} from '@flux/domain';
import type { EntityRecord } from '@flux/core';
import {
  OutcomeKind,
  type ChangeRecord as ProtoChangeRecord,
  type CommitProgress as ProtoCommitProgress,
  type Entity as ProtoEntity,
  type GetCountsResponse,
  type StoredEvent as ProtoStoredEvent,
} from './generated/flux/v1/state.js';

/*
 * Conversions between domain values and the messages of flux.v1. Every JSON payload crosses
 * the wire as JSON text (see state.proto for why): JSON.stringify on one side, JSON.parse on
 * the other, which keeps numbers exactly as the store holds them and a `__proto__` key as an
 * own data property.
 */

/**
 * An int64 field value. Everything this contract carries in int64 fields is an integer below
 * 2^53 (offsets, versions, counts, epoch milliseconds); anything else is truncated and clamped
 * rather than making the protobuf writer throw half-way through a message.
 */
export function int64(value: number): number {
  if (Number.isSafeInteger(value)) return value;
  if (Number.isNaN(value)) return 0;
  return Math.min(Number.MAX_SAFE_INTEGER, Math.max(Number.MIN_SAFE_INTEGER, Math.trunc(value)));
}

/** A uint32 field value (partitions, limits), clamped into range. */
export function uint32(value: number): number {
  if (Number.isNaN(value) || value <= 0) return 0;
  return Math.min(0xffffffff, Math.trunc(value));
}

function parseJson<T>(json: string, what: string): T {
  try {
    return JSON.parse(json) as T;
  } catch (error) {
    throw new FluxError(ErrorCode.Internal, `a shard sent ${what} that is not JSON`, { cause: error });
  }
}

function parseObject(json: string, what: string): Properties {
  const value = parseJson<unknown>(json, what);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FluxError(ErrorCode.Internal, `a shard sent ${what} that is not a JSON object`);
  }
  return value as Properties;
}

const positionToProto = (position: LogPosition | undefined): { partition?: number; offset?: number } =>
  position === undefined ? {} : { partition: uint32(position.partition), offset: int64(position.offset) };

const ttlToProto = (ttl: EntityTtl | undefined): { ttlSeconds?: number; expiresAtMs?: number } =>
  ttl === undefined ? {} : { ttlSeconds: int64(ttl.seconds), expiresAtMs: int64(ttl.expiresAt) };

/** The entity's ttl from a message (both fields, or neither). */
export const ttlFromProto = (entity: ProtoEntity): EntityTtl | undefined =>
  entity.ttlSeconds === undefined || entity.expiresAtMs === undefined ? undefined : { seconds: entity.ttlSeconds, expiresAt: entity.expiresAtMs };

/** The entity's position from a message (both fields, or neither). */
export const positionFromProto = (entity: ProtoEntity): LogPosition | undefined =>
  entity.partition === undefined || entity.offset === undefined ? undefined : { partition: entity.partition, offset: entity.offset };

export const entityToProto = (id: string, entity: StoredEntity): ProtoEntity => ({
  id,
  propertiesJson: JSON.stringify(entity.properties),
  version: int64(entity.version),
  lastUpdatedMs: int64(entity.lastUpdated),
  ...positionToProto(entity.position),
  ...ttlToProto(entity.ttl),
});

export function entityJsonToProto(id: string, storedJson: string): ProtoEntity {
  const { propertiesJson, version, lastUpdated, position, ttl } = splitEntityJson(storedJson);
  return { id, propertiesJson, version: int64(version), lastUpdatedMs: int64(lastUpdated), ...positionToProto(position), ...ttlToProto(ttl) };
}

export function entityFromProto(entity: ProtoEntity): EntityRecord {
  const position = positionFromProto(entity);
  const ttl = ttlFromProto(entity);
  return {
    id: entity.id,
    entity: {
      properties: parseObject(entity.propertiesJson, `the properties of entity ${JSON.stringify(entity.id)}`),
      version: entity.version,
      lastUpdated: entity.lastUpdatedMs,
      ...(position === undefined ? {} : { position }),
      ...(ttl === undefined ? {} : { ttl }),
    },
  };
}

export const storedEventToProto = (stored: StoredEvent): ProtoStoredEvent => ({
  eventJson: JSON.stringify(stored.event),
  storedAtMs: int64(stored.storedAt),
  ...(stored.offset === undefined ? {} : { offset: int64(stored.offset) }),
  ...(stored.version === undefined ? {} : { version: int64(stored.version) }),
  ...(stored.rejected === undefined ? {} : { rejected: { code: stored.rejected.code, currentVersion: int64(stored.rejected.currentVersion) } }),
});

export function storedEventFromProto(stored: ProtoStoredEvent): StoredEvent {
  const { offset, version, rejected } = stored;
  return {
    event: parseObject(stored.eventJson, 'a stored event') as unknown as FluxEvent,
    storedAt: stored.storedAtMs,
    ...(offset === undefined ? {} : { offset }),
    ...(version === undefined ? {} : { version }),
    ...(rejected === undefined ? {} : { rejected: { code: 'version_conflict', currentVersion: rejected.currentVersion } }),
  };
}

const OUTCOME_KINDS: Readonly<Record<EventOutcome['kind'], OutcomeKind>> = {
  applied: OutcomeKind.OUTCOME_KIND_APPLIED,
  conflict: OutcomeKind.OUTCOME_KIND_CONFLICT,
  refused: OutcomeKind.OUTCOME_KIND_REFUSED,
};

/** A commit's progress for the wire: with every event's outcome, or (for readers) without. */
export function progressToProto(progress: CommitProgress, withOutcomes: boolean): ProtoCommitProgress {
  const message: ProtoCommitProgress = {
    partition: uint32(progress.partition),
    lastOffset: int64(progress.lastOffset),
    offsets: [],
    kinds: [],
    versions: [],
  };
  if (!withOutcomes) return message;
  for (const outcome of progress.outcomes ?? []) {
    message.offsets.push(int64(outcome.offset));
    message.kinds.push(OUTCOME_KINDS[outcome.kind]);
    message.versions.push(int64(outcome.kind === 'applied' ? outcome.version : outcome.currentVersion));
  }
  return message;
}

/** A commit's progress as a gateway receives it; `withOutcomes` when the stream asked for them. */
export function progressFromProto(message: ProtoCommitProgress, withOutcomes: boolean): CommitProgress {
  const { partition, lastOffset } = message;
  if (!withOutcomes) return { partition, lastOffset };
  const outcomes: EventOutcome[] = [];
  message.offsets.forEach((offset, i) => {
    const kind = message.kinds[i];
    const version = message.versions[i] ?? 0;
    if (kind === OutcomeKind.OUTCOME_KIND_APPLIED) outcomes.push({ offset, kind: 'applied', version });
    else if (kind === OutcomeKind.OUTCOME_KIND_CONFLICT) outcomes.push({ offset, kind: 'conflict', currentVersion: version });
    else if (kind === OutcomeKind.OUTCOME_KIND_REFUSED) outcomes.push({ offset, kind: 'refused', currentVersion: version });
    // A kind this gateway does not know (a newer shard's) is left out: its outcome is unknown here.
  });
  return { partition, lastOffset, outcomes };
}

export const countsToProto = (counts: EntityCounts, eventsApplied: number): GetCountsResponse => ({
  total: int64(counts.total),
  // Object.entries lists own properties only, so a `__proto__` namespace is one entry like any other.
  byNamespace: new Map(Object.entries(counts.byNamespace).map(([key, count]) => [key, int64(count)])),
  eventsApplied: int64(eventsApplied),
});

export function changeToProto(change: ChangeRecord): ProtoChangeRecord {
  const common = {
    partition: uint32(change.partition),
    offset: int64(change.offset),
    entityId: change.entityId,
    timestampMs: int64(change.timestamp),
    source: change.source,
  };
  return change.kind === 'upsert'
    ? {
        ...common,
        kind: { $case: 'upsert', upsert: { changesJson: JSON.stringify(change.changes), version: int64(change.version) } },
      }
    : { ...common, kind: { $case: 'delete', delete: {} } };
}

/**
 * A change as the query gateways receive it. The property changes stay JSON text until a reader
 * asks for them: a gateway decodes every change of every shard, but only the WebSocket hub looks
 * at `changes`, and only while someone is connected, so most batches are never parsed at all.
 */
export function changeFromProto(change: ProtoChangeRecord): ChangeRecord {
  const { partition, offset, entityId, timestampMs: timestamp, source } = change;
  switch (change.kind?.$case) {
    case 'upsert': {
      const { changesJson, version } = change.kind.upsert;
      let parsed: PropertyChange[] | undefined;
      return {
        partition,
        offset,
        entityId,
        timestamp,
        source,
        kind: 'upsert',
        version,
        get changes(): readonly PropertyChange[] {
          parsed ??= parseChanges(changesJson, change);
          return parsed;
        },
      };
    }
    case 'delete':
      return { partition, offset, entityId, timestamp, source, kind: 'delete' };
    default:
      throw new FluxError(ErrorCode.Internal, `a shard sent ${describeChange(change)} of an unknown kind`);
  }
}

function parseChanges(json: string, change: ProtoChangeRecord): PropertyChange[] {
  const changes = parseJson<unknown>(json, `the changes of ${describeChange(change)}`);
  if (!Array.isArray(changes)) {
    throw new FluxError(ErrorCode.Internal, `a shard sent changes of ${describeChange(change)} that are not a JSON array`);
  }
  return changes as PropertyChange[];
}

const describeChange = (change: ProtoChangeRecord): string => `the change at partition ${change.partition} offset ${change.offset}`;
