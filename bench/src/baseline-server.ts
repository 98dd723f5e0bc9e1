/**
 * The baseline: a bare Fastify server whose `POST /api/events` parses the JSON body and answers
 * 200 `{}`. It is loaded exactly like Flux, so Flux's single-event ingest can be reported as a
 * ratio of what the same HTTP stack does with no work behind it; noise from other load on the
 * machine then largely cancels.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/api/events', async (request) => {
  // The body is already parsed; touching it keeps the route honest if that ever turns lazy.
  if (typeof request.body !== 'object' || request.body === null) throw new Error('expected a JSON object');
  return {};
});
app.get('/ready', async () => ({ status: 'ok' }));

const shutdown = (): void => {
  void app.close().then(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
