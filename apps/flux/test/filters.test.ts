/** GET /api/state/entities?filter=: the filter language (docs/filters.md) on every deployment. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FluxHttpError } from '@flux/client';
import { startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from './support/deployment.js';
import { batchOk, clientOf, envelope, get, listEntities, unique, waitFor, type Json } from './support/client.js';
import { expectError, expectStatus } from './support/expect.js';

let flux: Deployment;
let ns: string;

/** Twelve sensors across every partition; the properties each clause below picks from. */
const sensors = Array.from({ length: 12 }, (_, i) => ({
  name: `sensor-${String(i).padStart(2, '0')}`,
  properties: {
    battery: i * 10,
    status: i % 3 === 0 ? 'offline' : 'online',
    label: i % 4 === 0 ? `Roof ${i}` : `Hall ${i}`,
    tags: i % 2 === 0 ? ['even', 'sensor'] : ['odd', 'sensor'],
    location: { floor: i % 5, wing: i < 6 ? 'east' : 'west' },
    ...(i % 6 === 0 ? { alarm: true } : {}),
  },
}));

const idOf = (name: string): string => `${ns}/${name}`;
const names = (entities: readonly Json[]): string[] => entities.map((entity) => String(entity.id).slice(ns.length + 1));
const expected = (test: (properties: (typeof sensors)[number]['properties'], name: string) => boolean): string[] =>
  sensors.filter((sensor) => test(sensor.properties, sensor.name)).map((sensor) => sensor.name);

beforeAll(async () => {
  flux = await startDeployment();
  ns = unique('flt');
  await batchOk(
    flux,
    sensors.map((sensor) => envelope(idOf(sensor.name), sensor.properties)),
  );
  await batchOk(flux, [envelope(`${unique('flt-other')}/sensor-00`, sensors[0]!.properties)]);
  await waitFor(async () => (await listEntities(flux, { namespace: ns })).length === sensors.length, { what: 'the sensors to be applied' });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await flux?.dispose();
});

const filtered = (filter: string, query: Record<string, string> = {}): Promise<Json[]> => listEntities(flux, { namespace: ns, filter, ...query });

describe('GET /api/state/entities?filter=', () => {
  it('applies every operator to properties, dotted paths and @id', async () => {
    const cases: [string, string[]][] = [
      ['status = "offline"', expected((p) => p.status === 'offline')],
      ['status != "offline"', expected((p) => p.status !== 'offline')],
      ['battery < 30', expected((p) => p.battery < 30)],
      ['battery <= 30', expected((p) => p.battery <= 30)],
      ['battery > 90', expected((p) => p.battery > 90)],
      ['battery >= 90', expected((p) => p.battery >= 90)],
      ['alarm exists', expected((p) => 'alarm' in p)],
      ['not alarm exists', expected((p) => !('alarm' in p))],
      ['battery in (0, 50, 110, 999)', expected((p) => [0, 50, 110].includes(p.battery))],
      ['label startswith "Roof"', expected((p) => p.label.startsWith('Roof'))],
      ['label contains "all 1"', expected((p) => p.label.includes('all 1'))],
      ['tags contains "odd"', expected((p) => p.tags.includes('odd'))],
      ['location.wing = "west" and location.floor >= 3', expected((p) => p.location.wing === 'west' && p.location.floor >= 3)],
      [
        'status = "offline" or battery > 100 and not tags contains "even"',
        expected((p) => p.status === 'offline' || (p.battery > 100 && p.tags.includes('odd'))),
      ],
      [`@id startswith "${ns}/sensor-1"`, expected((_, name) => name.startsWith('sensor-1'))],
      ['battery = "10"', []],
    ];
    for (const [filter, want] of cases) expect(names(await filtered(filter)), filter).toEqual(want);
  });

  it('combines with prefix and namespace', async () => {
    expect(names(await listEntities(flux, { prefix: `${ns}/sensor-0`, filter: 'status = "offline"' }))).toEqual([
      'sensor-00',
      'sensor-03',
      'sensor-06',
      'sensor-09',
    ]);
    // Without namespace or prefix the filter sees every entity, other namespaces' included.
    const everywhere = await listEntities(flux, { filter: `label = "Roof 0" and @id contains "/sensor-00"` });
    expect(everywhere.length).toBeGreaterThanOrEqual(2);
    expect(everywhere.every((entity) => entity.properties.label === 'Roof 0')).toBe(true);
  });

  it('pages with limit and cursor: pages hold at most limit entities, every match once, in id order', async () => {
    const want = expected((p) => p.status === 'online');
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query = new URLSearchParams({ namespace: ns, filter: 'status = "online"', limit: '3', ...(cursor === null ? {} : { cursor }) });
      const response = await get(flux, `/api/state/entities?${query.toString()}`);
      expectStatus(response, 200);
      const page = response.body as Json[];
      expect(page.length).toBeLessThanOrEqual(3);
      seen.push(...names(page));
      cursor = response.headers.get('flux-next-cursor');
      pages++;
    } while (cursor !== null && pages < 20);
    expect(seen).toEqual(want);
    expect(cursor).toBeNull();
  });

  it('is available through @flux/client list and listPage', async () => {
    const client = clientOf(flux);
    const all = await client.listAll({ namespace: ns, filter: 'battery >= 60', pageSize: 2 });
    expect(all.map((entity) => entity.id)).toEqual(expected((p) => p.battery >= 60).map(idOf));
    const page = await client.listPage({ namespace: ns, filter: 'alarm = true', limit: 1 });
    expect(page.entities.map((entity) => entity.id)).toEqual([idOf('sensor-00')]);
    expect(page.nextCursor).toBeDefined();
    const error = await client.listPage({ namespace: ns, filter: 'alarm = ', limit: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FluxHttpError);
    expect((error as FluxHttpError).status).toBe(400);
  });

  it('answers 400 FLUX_VALIDATION naming the problem and where it is', async () => {
    const cases: [string, RegExp][] = [
      ['', /filter: the filter is empty/],
      ['status', /expected an operator .* \(at character 7\)/],
      ['status = offline', /expected a value .* found "offline" \(at character 10\)/],
      ['battery < true', /"<" needs a number or a string/],
      ['(status = "a"', /expected "\)" to close "\("/],
      ['status ~ "a"', /unexpected character "~"/],
      ['status = "a" battery = 1', /expected "and", "or" or the end of the filter, found "battery"/],
      ['x'.repeat(4097), /longer than 4096 characters/],
      [`${'('.repeat(40)}a = 1${')'.repeat(40)}`, /nested more than 16 deep/],
      [Array.from({ length: 65 }, (_, i) => `a = ${i}`).join(' or '), /more than 64 clauses/],
    ];
    for (const [filter, message] of cases) {
      // Checked before anything is read, even where no entity could match.
      for (const query of [{ namespace: ns }, { namespace: 'a/b', limit: '5' }] as Record<string, string>[]) {
        const response = await get(flux, `/api/state/entities?${new URLSearchParams({ ...query, filter }).toString()}`);
        const error = expectError(response, 400, filter.slice(0, 40));
        expect((response.body as Json).code).toBe('FLUX_VALIDATION');
        expect(error).toMatch(message);
      }
    }
  });

  it('leaves the list unchanged without a filter', async () => {
    expect(names(await listEntities(flux, { namespace: ns }))).toEqual(sensors.map((sensor) => sensor.name));
  });

  it('is documented in the OpenAPI document', async () => {
    const doc = (await get(flux, '/api/openapi.json')).body as Json;
    const operation = doc.paths['/api/state/entities'].get;
    const parameter = (operation.parameters as Json[]).find((p) => p.name === 'filter' && p.in === 'query');
    expect(parameter?.schema).toEqual({ type: 'string' });
    expect(parameter?.required).not.toBe(true);
    expect(parameter?.description).toMatch(/startswith/);
    expect(operation.responses['400'].description).toMatch(/filter/);
  });
});
