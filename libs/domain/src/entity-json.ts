import type { StoredEntity } from './entity.js';

/*
 * The stored form of an entity, shared by every state store: JSON with the properties first
 * and the two numbers after them, `{"properties":{…},"version":3,"lastUpdated":1700000000000}`.
 * A reader answers a point read by splicing that text, never decoding the properties: decoding
 * and re-encoding 10,000 properties costs about 10 ms of event loop, the splice well under one.
 */

const HEAD = '{"properties":';
const VERSION = ',"version":';
const TAIL = /^,"version":(\d{1,16}),"lastUpdated":(-?\d{1,16})\}$/;

/** The stored JSON of an entity. */
export const encodeEntity = (entity: StoredEntity): string =>
  `${HEAD}${JSON.stringify(entity.properties)}${VERSION}${entity.version},"lastUpdated":${entity.lastUpdated}}`;

export const decodeEntity = (json: string): StoredEntity => JSON.parse(json) as StoredEntity;

/** The stored JSON of an entity whose properties are already JSON. */
export const storedEntityJson = (propertiesJson: string, version: number, lastUpdated: number): string =>
  `${HEAD}${propertiesJson}${VERSION}${version},"lastUpdated":${lastUpdated}}`;

export interface SplitEntity {
  readonly propertiesJson: string;
  readonly version: number;
  readonly lastUpdated: number;
}

/**
 * The parts of an entity's stored JSON, found from its ends (the properties are not scanned);
 * JSON in another layout (written by hand, or by an older encoder) is decoded instead.
 */
export function splitEntityJson(json: string): SplitEntity {
  if (json.startsWith(HEAD)) {
    const at = json.lastIndexOf(VERSION);
    const tail = at < 0 ? null : TAIL.exec(json.slice(at));
    if (tail !== null) return { propertiesJson: json.slice(HEAD.length, at), version: Number(tail[1]), lastUpdated: Number(tail[2]) };
  }
  const entity = decodeEntity(json);
  return { propertiesJson: JSON.stringify(entity.properties), version: entity.version, lastUpdated: entity.lastUpdated };
}

/** The API's view of an entity (see toEntityView) as JSON, spliced from its stored JSON. */
export function entityViewJson(id: string, storedJson: string): string {
  const { propertiesJson, version, lastUpdated } = splitEntityJson(storedJson);
  return `{"id":${JSON.stringify(id)},"properties":${propertiesJson},"lastUpdated":"${new Date(lastUpdated).toISOString()}","version":${version}}`;
}
