/** The embedded composition root started in-process, the way an application embedding Flux would. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseSettings } from '@flux/core';
import { startEmbeddedFlux, type RunningFlux } from '../src/embedded-flux.js';

const MATERIALISER = new URL('../src/materialiser.ts', import.meta.url);
let flux: RunningFlux | undefined;
const dirs: string[] = [];
const freshDir = async (): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'flux-embedded-root-'));
  dirs.push(dir);
  return dir;
};

afterEach(async () => {
  await flux?.close();
  flux = undefined;
  vi.unstubAllEnvs();
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('startEmbeddedFlux', () => {
  it('materialises into the data directory of the settings it is given, not one the environment names', async () => {
    const dataDir = await freshDir();
    // The environment names another directory, which the settings override.
    const decoy = await freshDir();
    vi.stubEnv('FLUX_DATA_DIR', decoy);
    flux = await startEmbeddedFlux(parseSettings({ FLUX_DATA_DIR: dataDir }), [], pino({ level: 'silent' }), '0.0.0', MATERIALISER);

    const event = { stream: 'embedded', source: 'test', timestamp: Date.now(), payload: { entity_id: 'embedded/one', properties: { n: 1 } } };
    const published = await flux.app.inject({ method: 'POST', url: '/api/events?wait=applied&timeout_ms=10000', payload: event });
    expect(published.statusCode, published.body).toBe(200);
    expect(published.json()).toMatchObject({ version: 1 });
    const read = await flux.app.inject({ method: 'GET', url: '/api/state/entities/embedded%2Fone' });
    expect(read.json()).toMatchObject({ properties: { n: 1 }, version: 1 });
    expect(await readdir(dataDir)).toEqual(expect.arrayContaining(['log', 'state']));
    expect(await readdir(decoy)).toEqual([]);
  });
});
