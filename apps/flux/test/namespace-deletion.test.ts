/**
 * A deleted namespace's entities go with it: DELETE /api/namespaces/:name tombstones every
 * entity of the namespace before it answers, so whoever registers the same name later starts
 * empty, and their writes create fresh entities (version 1) instead of taking over old state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicEnv, startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from './support/deployment.js';
import { getEntity, listEntities, publishOk, registerNamespace, request, unique, waitFor, waitForEntity, waitForGone } from './support/client.js';
import { expectStatus } from './support/expect.js';

const ADMIN = 'namespace-deletion-admin-token-0123';
let flux: Deployment;

beforeAll(async () => {
  flux = await startDeployment({ env: publicEnv(ADMIN) });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await flux?.dispose();
});

describe('deleting a namespace', () => {
  it('removes its entities, and a later owner of the name starts empty', async () => {
    const name = unique('gone');
    const first = await registerNamespace(flux, name, ADMIN);
    const ids = ['a', 'b', 'deep/c'].map((suffix) => `${name}/${suffix}`);
    for (const id of ids) {
      await publishOk(flux, id, { secret: 'old owner', n: 1 }, { token: first.token });
      await publishOk(flux, id, { n: 2 }, { token: first.token });
    }
    for (const id of ids) await waitForEntity(flux, id, (entity) => entity.version === 2);

    expectStatus(await request(flux, 'DELETE', `/api/namespaces/${name}`, { token: ADMIN }), 204);
    for (const id of ids) await waitForGone(flux, id);

    const second = await registerNamespace(flux, name, ADMIN);
    expect(second.token).not.toBe(first.token);
    await waitFor(async () => (await listEntities(flux, { namespace: name }, second.token)).length === 0, { what: 'the namespace to be empty' });

    await publishOk(flux, ids[0]!, { fresh: true }, { token: second.token });
    const entity = await waitForEntity(flux, ids[0]!);
    expect(entity.version).toBe(1);
    expect(entity.properties).toEqual({ fresh: true });
    // The other old entities stay gone.
    expect((await getEntity(flux, ids[1]!)).status).toBe(404);
  }, 60_000);
});
