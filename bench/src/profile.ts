/** What each scenario does, in numbers: the full run and `--quick` (same structure, smaller). */
import type { DeploymentKind } from './deployment.js';

export interface Profile {
  readonly ingest: {
    /** autocannon connections for the saturation runs. */
    readonly connections: number;
    readonly saturationSeconds: number;
    /** Baseline and Flux saturation runs alternate this many times; each side's mean is used. */
    readonly rounds: number;
    /** Offered rates (events/s) of the open-loop latency runs. */
    readonly rates: readonly number[];
    readonly rateSeconds: number;
    /** Events cycle over this many entities. */
    readonly entities: number;
    /** Longest wait for Flux to apply what a run acknowledged before the next run starts. */
    readonly backlogTimeoutSeconds: number;
  };
  readonly batch: {
    readonly sizes: readonly number[];
    /** Events per batch size. */
    readonly events: number;
    readonly entities: number;
    readonly concurrency: number;
  };
  readonly reads: {
    readonly entities: number;
    /** Sub-prefixes the entities are spread over; one list request matches entities / subPrefixes. */
    readonly subPrefixes: number;
    readonly getConnections: number;
    readonly getSeconds: number;
    /** Baseline and Flux GET saturation runs alternate this many times; each side's mean is used. */
    readonly getRounds: number;
    /** Sequential list requests per kind (full sub-prefix, paged). */
    readonly listSamples: number;
    readonly pageLimit: number;
    /** Unpaged lists of the whole set. */
    readonly fullListSamples: number;
  };
  readonly websocket: {
    readonly subscribers: number;
    readonly entitiesPerSubscriber: number;
    readonly rates: readonly number[];
    readonly rateSeconds: number;
  };
  readonly waitApplied: {
    /** Closed-loop writers. */
    readonly clients: number;
    /** Events each writer publishes per run (appended, then applied). */
    readonly requestsPerClient: number;
    /** Unmeasured events per writer and kind first, so neither run pays for warming the path up. */
    readonly warmUpPerClient: number;
  };
  readonly largeEntity: {
    /** Batches of `{"tick": i}` events sent, one after another, after the large event. */
    readonly batches: number;
    readonly batchSize: number;
    /** Longest wait for the large event, then the last tick, to be visible. */
    readonly visibleTimeoutSeconds: number;
  };
  readonly filteredList: {
    readonly entities: number;
    readonly pageLimit: number;
    /** First-page requests. */
    readonly samples: number;
    /** Walks through every page by cursor. */
    readonly walks: number;
    readonly unpagedSamples: number;
  };
  readonly memory: {
    readonly entities: number;
    readonly batchSize: number;
    readonly concurrency: number;
    /** Pause between the last entity becoming visible and reading RSS. */
    readonly settleMs: number;
  };
}

export function profileFor(quick: boolean, kind: DeploymentKind): Profile {
  const websocketRates = kind === 'cluster' ? [1000, 2000, 5000] : [1000, 5000];
  if (quick) {
    return {
      ingest: { connections: 50, saturationSeconds: 2, rounds: 1, rates: [1000, 5000], rateSeconds: 2, entities: 10_000, backlogTimeoutSeconds: 15 },
      batch: { sizes: [100, 1000], events: 20_000, entities: 10_000, concurrency: 8 },
      reads: {
        entities: 10_000,
        subPrefixes: 100,
        getConnections: 50,
        getSeconds: 2,
        getRounds: 1,
        listSamples: 50,
        pageLimit: 100,
        fullListSamples: 2,
      },
      websocket: { subscribers: 100, entitiesPerSubscriber: 10, rates: websocketRates, rateSeconds: 2 },
      waitApplied: { clients: 8, requestsPerClient: 125, warmUpPerClient: 20 },
      largeEntity: { batches: 4, batchSize: 500, visibleTimeoutSeconds: 120 },
      filteredList: { entities: 10_000, pageLimit: 100, samples: 20, walks: 2, unpagedSamples: 2 },
      memory: { entities: 100_000, batchSize: 1000, concurrency: 8, settleMs: 1000 },
    };
  }
  return {
    ingest: {
      connections: 50,
      saturationSeconds: 8,
      rounds: 2,
      rates: [500, 1000, 2000, 5000],
      rateSeconds: 10,
      entities: 10_000,
      backlogTimeoutSeconds: 120,
    },
    batch: { sizes: [100, 1000], events: 200_000, entities: 10_000, concurrency: 8 },
    reads: {
      entities: 100_000,
      subPrefixes: 100,
      getConnections: 50,
      getSeconds: 8,
      getRounds: 2,
      listSamples: 200,
      pageLimit: 100,
      fullListSamples: 5,
    },
    websocket: { subscribers: 100, entitiesPerSubscriber: 10, rates: websocketRates, rateSeconds: 15 },
    waitApplied: { clients: 8, requestsPerClient: 500, warmUpPerClient: 20 },
    largeEntity: { batches: 20, batchSize: 500, visibleTimeoutSeconds: 300 },
    filteredList: { entities: 100_000, pageLimit: 100, samples: 50, walks: 5, unpagedSamples: 5 },
    memory: { entities: 1_000_000, batchSize: 1000, concurrency: 8, settleMs: 5000 },
  };
}
