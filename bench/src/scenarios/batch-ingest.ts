/** Batch ingest: events per second until materialised, for each batch size. */
import { batchLoad, type BatchLoadResult } from '../batch-load.js';
import { EntitySet } from '../entity-set.js';
import type { ScenarioContext } from './scenario-context.js';

export async function batchIngest(context: ScenarioContext): Promise<BatchLoadResult[]> {
  const { deployment, profile, log } = context;
  const parameters = profile.batch;
  const results: BatchLoadResult[] = [];
  for (const batchSize of parameters.sizes) {
    log(
      `batch: ${parameters.events} events in batches of ${batchSize} over ${parameters.entities} entities, ${parameters.concurrency} requests in flight`,
    );
    results.push(
      await batchLoad({
        baseUrl: deployment.baseUrl,
        set: new EntitySet(`${context.idPrefix}batch${batchSize}/`, parameters.entities, 100),
        events: parameters.events,
        batchSize,
        concurrency: parameters.concurrency,
        materialiseTimeoutMs: 300_000,
        serverCpuSeconds: deployment.cpuSeconds,
        servicesCpuSeconds: deployment.servicesCpuSeconds,
      }),
    );
  }
  return results;
}
