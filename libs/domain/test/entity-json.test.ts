import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeEntity,
  encodeEntity,
  encodePosition,
  entityViewJson,
  splitEntityJson,
  storedEntityJson,
  toEntityView,
  type StoredEntity,
} from '@flux/domain';

/** Any entity whose properties JSON can carry (JSON values, odd names included). */
const storedEntity: fc.Arbitrary<StoredEntity> = fc.record(
  {
    properties: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 6 }),
    version: fc.integer({ min: 1, max: 2 ** 40 }),
    lastUpdated: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    // Entities stored before positions were kept have none.
    position: fc.record({ partition: fc.integer({ min: 0, max: 1023 }), offset: fc.integer({ min: 0, max: 2 ** 50 }) }),
    // Only entities given a ttl have one.
    ttl: fc.record({ seconds: fc.integer({ min: 1, max: 31_536_000 }), expiresAt: fc.integer({ min: 0, max: 4_102_444_800_000 }) }),
  },
  { requiredKeys: ['properties', 'version', 'lastUpdated'] },
);

/** What the API returned before splicing: the view object as Fastify would serialise it. */
const viewByDecoding = (id: string, entity: StoredEntity): unknown => JSON.parse(JSON.stringify(toEntityView(id, entity)));

describe('entity JSON', () => {
  it('the spliced view is the decoded view, for any entity and id', () => {
    fc.assert(
      fc.property(fc.string(), storedEntity, (id, entity) => {
        expect(JSON.parse(entityViewJson(id, encodeEntity(entity)))).toEqual(viewByDecoding(id, entity));
        expect(decodeEntity(encodeEntity(entity))).toEqual(JSON.parse(JSON.stringify(entity)));
      }),
    );
  });

  it('splits from the ends, even when a property value looks like the tail', () => {
    const entity: StoredEntity = { properties: { z: ',"version":9,"lastUpdated":9}', last: { version: 7 } }, version: 3, lastUpdated: 1_000 };
    const json = encodeEntity(entity);
    expect(splitEntityJson(json)).toEqual({ propertiesJson: JSON.stringify(entity.properties), version: 3, lastUpdated: 1_000 });
    expect(storedEntityJson(JSON.stringify(entity.properties), 3, 1_000)).toBe(json);
  });

  it('splices the position of the last event, and reads entities stored without one as before', () => {
    const position = { partition: 7, offset: 123_456 };
    const json = encodeEntity({ properties: { a: 1 }, version: 2, lastUpdated: 5, position });
    expect(json).toBe('{"properties":{"a":1},"version":2,"lastUpdated":5,"position":{"partition":7,"offset":123456}}');
    expect(splitEntityJson(json)).toEqual({ propertiesJson: '{"a":1}', version: 2, lastUpdated: 5, position });
    expect(JSON.parse(entityViewJson('ns/x', json))).toMatchObject({ version: 2, position: encodePosition(position) });
    expect(storedEntityJson('{"a":1}', 2, 5, position)).toBe(json);

    const old = '{"properties":{"a":1},"version":2,"lastUpdated":5}';
    expect(splitEntityJson(old)).toEqual({ propertiesJson: '{"a":1}', version: 2, lastUpdated: 5 });
    expect(JSON.parse(entityViewJson('ns/x', old))).toEqual({
      id: 'ns/x',
      properties: { a: 1 },
      lastUpdated: '1970-01-01T00:00:00.005Z',
      version: 2,
    });
    expect(toEntityView('ns/x', decodeEntity(old))).not.toHaveProperty('position');
  });

  it('reads JSON in another layout by decoding it', () => {
    const json = JSON.stringify({ version: 2, lastUpdated: 5, properties: { a: 1 } });
    expect(splitEntityJson(json)).toEqual({ propertiesJson: '{"a":1}', version: 2, lastUpdated: 5 });
    expect(JSON.parse(entityViewJson('ns/x', json))).toEqual({
      id: 'ns/x',
      properties: { a: 1 },
      lastUpdated: '1970-01-01T00:00:00.005Z',
      version: 2,
    });
  });
});
