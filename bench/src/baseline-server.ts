/**
 * The baseline: a bare Fastify server that does what Flux's HTTP side does with no work behind
 * it. It is loaded exactly like Flux, so Flux's figures can be reported as ratios of what the
 * same HTTP stack does; noise from other load on the machine then largely cancels.
 *
 * - `POST /api/events` parses the JSON body and answers 200 `{}`.
 * - `POST /api/events/batch` merges each event into an entity-like object
 *   (`{id, properties, lastUpdated, version}`) in an in-memory Map, so the read baseline is
 *   loaded the same way as Flux; `GET /api/state/entities?prefix=` lists them, which lets the
 *   harness's materialisation check run unchanged.
 * - `GET /api/state/entities/:id` returns the stored object, which Fastify serialises.
 */
import Fastify from 'fastify';

interface BaselineEntity {
  readonly id: string;
  properties: Record<string, unknown>;
  lastUpdated: string;
  version: number;
}

interface BatchBody {
  readonly events?: readonly { readonly timestamp?: number; readonly payload?: { entity_id?: unknown; properties?: unknown } }[];
}

const entities = new Map<string, BaselineEntity>();

const app = Fastify({ logger: false, bodyLimit: 10 * 1024 * 1024 });
app.post('/api/events', async (request) => {
  // The body is already parsed; touching it keeps the route honest if that ever turns lazy.
  if (typeof request.body !== 'object' || request.body === null) throw new Error('expected a JSON object');
  return {};
});
app.post('/api/events/batch', async (request) => {
  const events = (request.body as BatchBody).events ?? [];
  let failed = 0;
  for (const event of events) {
    const id = event.payload?.entity_id;
    const properties = event.payload?.properties;
    if (typeof id !== 'string' || typeof properties !== 'object' || properties === null) {
      failed++;
      continue;
    }
    const lastUpdated = new Date(event.timestamp ?? Date.now()).toISOString();
    const current = entities.get(id);
    if (current === undefined) entities.set(id, { id, properties: { ...properties }, lastUpdated, version: 1 });
    else {
      Object.assign(current.properties, properties);
      current.lastUpdated = lastUpdated;
      current.version++;
    }
  }
  return { successful: events.length - failed, failed };
});
app.get('/api/state/entities', async (request) => {
  const { prefix = '' } = request.query as { prefix?: string };
  return [...entities.values()].filter((entity) => entity.id.startsWith(prefix));
});
app.get('/api/state/entities/:id', async (request, reply) => {
  const entity = entities.get((request.params as { id: string }).id);
  if (entity === undefined) return reply.code(404).send({ error: 'Entity not found' });
  return entity;
});
app.get('/ready', async () => ({ status: 'ok' }));

const shutdown = (): void => {
  void app.close().then(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
