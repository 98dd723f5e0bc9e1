import type { LogPosition } from './change.js';
import type { StoredEntity } from './entity.js';
import { encodePosition } from './position.js';
import type { EntityTtl } from './ttl.js';

/*
 * The stored form of an entity, shared by every state store: JSON with the properties first
 * and the numbers after them,
 * `{"properties":{…},"version":3,"lastUpdated":1700000000000,"position":{"partition":2,"offset":17}}`
 * (entities stored before positions were kept end after lastUpdated; an entity with a ttl ends
 * with `,"ttl":{"seconds":60,"expiresAt":1700000060000}`).
 * A reader answers a point read by splicing that text, never decoding the properties: decoding
 * and re-encoding 10,000 properties costs about 10 ms of event loop, the splice well under one.
 */

const HEAD = '{"properties":';
const VERSION = ',"version":';
const TAIL =
  /^,"version":(\d{1,16}),"lastUpdated":(-?\d{1,16})(?:,"position":\{"partition":(\d{1,10}),"offset":(\d{1,16})\})?(?:,"ttl":\{"seconds":(\d{1,16}),"expiresAt":(-?\d{1,16})\})?\}$/;

const positionJson = (position: LogPosition | undefined): string =>
  position === undefined ? '' : `,"position":{"partition":${position.partition},"offset":${position.offset}}`;

const ttlJson = (ttl: EntityTtl | undefined): string => (ttl === undefined ? '' : `,"ttl":{"seconds":${ttl.seconds},"expiresAt":${ttl.expiresAt}}`);

/** The stored JSON of an entity. */
export const encodeEntity = (entity: StoredEntity): string =>
  storedEntityJson(JSON.stringify(entity.properties), entity.version, entity.lastUpdated, entity.position, entity.ttl);

export const decodeEntity = (json: string): StoredEntity => JSON.parse(json) as StoredEntity;

/** The stored JSON of an entity whose properties are already JSON. */
export const storedEntityJson = (propertiesJson: string, version: number, lastUpdated: number, position?: LogPosition, ttl?: EntityTtl): string =>
  `${HEAD}${propertiesJson}${VERSION}${version},"lastUpdated":${lastUpdated}${positionJson(position)}${ttlJson(ttl)}}`;

export interface SplitEntity {
  readonly propertiesJson: string;
  readonly version: number;
  readonly lastUpdated: number;
  readonly position?: LogPosition;
  readonly ttl?: EntityTtl;
}

/**
 * The parts of an entity's stored JSON, found from its ends (the properties are not scanned);
 * JSON in another layout (written by hand, or by an older encoder) is decoded instead.
 */
export function splitEntityJson(json: string): SplitEntity {
  if (json.startsWith(HEAD)) {
    const at = json.lastIndexOf(VERSION);
    const tail = at < 0 ? null : TAIL.exec(json.slice(at));
    if (tail !== null) {
      return {
        propertiesJson: json.slice(HEAD.length, at),
        version: Number(tail[1]),
        lastUpdated: Number(tail[2]),
        ...(tail[3] === undefined ? {} : { position: { partition: Number(tail[3]), offset: Number(tail[4]) } }),
        ...(tail[5] === undefined ? {} : { ttl: { seconds: Number(tail[5]), expiresAt: Number(tail[6]) } }),
      };
    }
  }
  const entity = decodeEntity(json);
  return {
    propertiesJson: JSON.stringify(entity.properties),
    version: entity.version,
    lastUpdated: entity.lastUpdated,
    ...(entity.position === undefined ? {} : { position: entity.position }),
    ...(entity.ttl === undefined ? {} : { ttl: entity.ttl }),
  };
}

/** The API's view of an entity (see toEntityView) as JSON, spliced from its stored JSON. */
export function entityViewJson(id: string, storedJson: string): string {
  const { propertiesJson, version, lastUpdated, position, ttl } = splitEntityJson(storedJson);
  const token = position === undefined ? '' : `,"position":"${encodePosition(position)}"`;
  const expiry = ttl === undefined ? '' : `,"ttlSeconds":${ttl.seconds},"expiresAt":"${new Date(ttl.expiresAt).toISOString()}"`;
  return `{"id":${JSON.stringify(id)},"properties":${propertiesJson},"lastUpdated":"${new Date(lastUpdated).toISOString()}","version":${version}${token}${expiry}}`;
}
