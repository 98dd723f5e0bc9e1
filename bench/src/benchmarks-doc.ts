/**
 * docs/benchmarks.md and docs/benchmarks/latency.svg, regenerated from bench/results/*.json so
 * the page always shows figures that a results file backs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { latencySeries, renderLatencyChart } from './latency-chart.js';
import { profileFor } from './profile.js';
import { machineLine, runFigures, runTitle, targetsTable } from './report.js';
import { pickForDocs, readResultsDir, type BenchResults } from './results.js';
import { integer } from './format.js';
import { DEFAULT_ENTITY_BOUND } from '@flux/domain';

export const DOC_PATH = 'docs/benchmarks.md';
export const CHART_PATH = 'docs/benchmarks/latency.svg';

function methodology(): string {
  const full = profileFor(false, 'embedded');
  const quick = profileFor(true, 'embedded');
  const cluster = profileFor(false, 'cluster');
  return `## Method

**Where things run.** Each run starts a fresh deployment from a Flux checkout: the embedded
server as \`npm start\` runs it (\`scripts/start.mjs\`: compiled, then run with no TypeScript loader; a new
temporary \`FLUX_DATA_DIR\`) or, with
\`--cluster\`, \`deploy/local/start-cluster.ts\` (3 reducer shards, 1 ingest gateway, 2 query
gateways behind one port) on local Kafka and Redis with a topic and key prefix of its own,
deleted afterwards. The load comes from the harness, a separate Node process, over loopback on
the same machine. The machine has 2 cores, so the load generator and the server compete for
CPU; each measurement records the cores used by the load process and by the deployment, and
the load process's event-loop delay, and the results flag a run in which the load process
itself may have been the bottleneck (a core fully busy, or p99 event-loop delay ≥ 20 ms).
Other work on the machine shows in the load average recorded at the start and end of a run.

**Single-event ingest.** Every request is a distinct, valid event
(\`{"stream":"bench","source":"flux-bench","timestamp":…,"payload":{"entity_id":…,"properties":{"seq":n,"v":…}}}\`)
cycling over ${integer(full.ingest.entities)} entities. *Throughput at saturation*: autocannon,
closed loop, ${full.ingest.connections} keep-alive connections for ${full.ingest.saturationSeconds} s, non-2xx answers and
errors counted apart. The same load, with the same bodies, goes to a *baseline*: a bare
Fastify 5 server whose \`POST /api/events\` parses the JSON body and answers 200 \`{}\`, in its
own process. Baseline and Flux take turns in ${full.ingest.rounds} rounds and Flux's figure is reported
as the ratio of the two means, so that load from elsewhere on the machine largely cancels.
After each Flux run the harness waits until the events are applied, so a backlog never
spills into the next measurement. *Latency and CPU*: open loop at fixed offered rates
(${full.ingest.rates.join(', ')} events/s for ${full.ingest.rateSeconds} s each) on an undici pool of 128 connections.
Request *i* is due at t₀ + i/rate whatever happened to earlier requests, and its latency runs
from when it was **due**, not from when it was sent — the correction for coordinated omission
that wrk2 makes. A stalled server therefore shows the whole wait its clients would see instead
of the load generator waiting with it. (autocannon's own rate limit is per connection and
closed loop, which is why it is used for saturation only.) Latencies go into an HdrHistogram
(1 µs resolution, 3 significant digits); requests still unanswered when a run ends are recorded
at their age then and counted as failures. The server's CPU at each rate is its CPU seconds
(\`/proc/<pid>/stat\`, every process of the deployment) from the first request until the last
answer, divided by the scheduled duration: the cores that rate needs. The CPU target is judged
on the ${integer(1000)} events/s run, and not met when the server did not keep up with it.

**Batch ingest.** ${integer(full.batch.events)} events per batch size (${full.batch.sizes.join(' and ')} events per request),
event *i* going to entity *i* mod ${integer(full.batch.entities)} with \`seq = i\`, ${full.batch.concurrency} requests in flight. Request
bodies are serialised before the clock starts. The clock runs from the first request until
every entity shows its last event (\`seq\`). The harness first waits, with one
\`GET /api/state/entities/:id?min_position=\` per partition, until each partition is applied up to
the highest position the batches were answered with, then lists the set through
\`GET /api/state/entities?prefix=\` per sub-prefix of 100 entities. When that first listing finds
every entity current, the time is when the waits ended; otherwise the listing is repeated (a
sub-prefix found complete is not listed again) and the time is taken when the last listing
answers. The waits keep the check from loading the server while it catches up: listing every
10 ms took a third of the server's CPU once materialisation lagged the acknowledgements. Events per second = events ÷ that time. The
acknowledgement time (last batch answered) is reported beside it. The targets are judged on the
batches of 1000. CPU per 100k events: the CPU seconds the deployment's processes used from the
first request until materialised, plus, on the cluster, those of the Kafka and Redis processes
when this machine shows them (not when they run in another container: the figure then covers
Flux's processes only, so it can show the target missed but not met). Kafka and Redis serve
whoever else uses them meanwhile, and that work counts too.

**Reads.** ${integer(full.reads.entities)} entities are loaded (batches of 1000) under one prefix, spread over
${full.reads.subPrefixes} sub-prefixes of ${integer(full.reads.entities / full.reads.subPrefixes)}. \`GET /api/state/entities/:id\`:
autocannon, ${full.reads.getConnections} connections for ${full.reads.getSeconds} s, each request a different id in scattered order,
alternating in ${full.reads.getRounds} rounds with the same load on the *GET baseline*: the bare Fastify
server of the ingest baseline, loaded with the same entities through the same batches into a
\`Map\` of entity-like objects (\`{id, properties, lastUpdated, version}\`), whose
\`GET /api/state/entities/:id\` returns the stored object for Fastify to serialise. The target
is the ratio of the two means.
List latency: ${full.reads.listSamples} sequential requests of each kind on an otherwise idle server,
\`?prefix=<sub-prefix>\` (every match, ${integer(full.reads.entities / full.reads.subPrefixes)} entities), \`?prefix=<sub-prefix>&limit=${full.reads.pageLimit}\`
(the first page), and ${full.reads.fullListSamples} unpaged lists of the whole set; time to the last byte,
a response with the wrong number of entities counted as an error.

**Publish → WebSocket delivery.** ${full.websocket.subscribers} WebSocket connections to \`/api/ws\`, each
subscribed to its own ${full.websocket.entitiesPerSubscriber} entities. One warm-up event per subscriber, waited for, proves
every subscription is in place. A publisher then sends single-event POSTs open loop at
${full.websocket.rates.join(' and ')} events/s (the cluster run: ${cluster.websocket.rates.join(', ')}) for ${full.websocket.rateSeconds} s, round-robin over
all ${integer(full.websocket.subscribers * full.websocket.entitiesPerSubscriber)} entities, so every event reaches exactly one subscriber. The event has
one property (Flux sends one \`state_update\` per property) whose value is
\`[sequence number, due time]\`, the due time in epoch milliseconds with a fraction
(\`performance.timeOrigin + performance.now()\`). Latency = receive time − due time; publisher
and subscribers share the load process and its clock. Expected = events answered 200;
delivered = those that reached their subscriber; lost = expected − delivered; events that
arrived although their POST was still unanswered when the run ended are counted apart (and in
the latency), as are duplicates. A run that lost events does not meet its latency target
whatever its percentiles.

**Read-your-writes (\`wait=applied\`).** ${full.waitApplied.clients} closed-loop writers, each publishing single events one
after another to its own 10 entities: ${integer(full.waitApplied.requestsPerClient)} per writer answered once appended (\`POST /api/events\`),
then ${integer(full.waitApplied.requestsPerClient)} answered once applied (\`POST /api/events?wait=applied\`), after ${full.waitApplied.warmUpPerClient} unmeasured events of
each kind per writer. Latency is each request's round trip; the difference between the two rows
is what waiting for the reducer's commit costs a publisher (in the cluster: the shard's commit
and its outcome stream to the ingest gateway).

**Large entity.** One event with ${integer(DEFAULT_ENTITY_BOUND.maxProperties - 1)} properties (one short of the default entity bound,
\`FLUX_MAX_ENTITY_PROPERTIES\`) to one id, waited for until visible, then ${full.largeEntity.batches} batches of
${full.largeEntity.batchSize} \`{"tick": i}\` events to the same id, each sent once the previous one is
acknowledged, until the entity shows the last tick. Meanwhile \`GET /health\` is asked every
50 ms. The worst event-loop delay comes from the \`/metrics\` of every server process (the
embedded server; each reducer, on its metrics port, and each gateway of the cluster:
\`flux_nodejs_eventloop_lag_max_seconds\`, which prom-client restarts at every scrape; its 10 ms
sampling period is subtracted), scraped before the large event, once it is visible and once the
last tick is: one figure for taking in and applying the large event, one for the ticks, each the
worst of any process (named in the cluster).

**Server event-loop delay.** On the embedded server, the worst delay of its event loop under each
scenario: \`/metrics\` (prom-client's \`nodejs_eventloop_lag_max_seconds\`, which restarts at
every scrape; its 10 ms sampling period subtracted) is read when the scenario starts and when
it ends, and the worst of every read in between (the large-entity scenario reads it too) is
the scenario's figure. The target takes the worst over all scenarios, and counts as met only
when every scenario was measured.

**Memory (embedded).** A second fresh embedded server: RSS right after start (start-up and
recovery done, before any load: the idle target), then
${integer(full.memory.entities)} entities (one event each, batches of ${full.memory.batchSize}, ${full.memory.concurrency} in flight) until all are
visible, ${full.memory.settleMs / 1000} s to settle, then \`VmRSS\` and the peak \`VmHWM\` from
\`/proc/<pid>/status\` of the node process that serves. The target is judged on \`VmRSS\`,
which is also split into private memory (\`RssAnon\`: heap, buffers) and resident pages of
mapped files (\`RssFile\`: mostly the LMDB map, pages the kernel can drop under memory
pressure). The materialisation check lists every entity once, which touches the whole map.

**Quick runs** (\`--quick\`) keep the structure with smaller numbers: ${quick.ingest.saturationSeconds} s saturation runs
(${quick.ingest.rounds} round), rates ${quick.ingest.rates.join(' and ')} for ${quick.ingest.rateSeconds} s, ${integer(quick.batch.events)} events per batch size,
${integer(quick.reads.entities)} entities for reads, ${quick.websocket.rateSeconds} s per WebSocket rate, ${quick.largeEntity.batches} tick batches for the large entity and ${integer(quick.memory.entities)} entities for memory (so the
1M-entity memory target is not evaluated). They are for checking the harness and for rough
before/after comparisons; this page shows one only while no full run of its deployment is
recorded.

**Which results this page shows.** For each deployment, the newest complete full run in
\`bench/results/\`; when there is none, the newest complete quick run; else the newest partial
run (\`--only\`, or a scenario failed). So a quick run never replaces a full run's figures.
Runs against another checkout (\`--flux-root\`) never appear here, nor results files of an older
format (measured and judged against earlier targets).

**Targets** (issue 11) are reported as met or not met, never asserted in tests: figures from a
shared 2-core machine vary from run to run. The embedded single-event and GET targets are
ratios to the baselines measured in the same run. The WebSocket p99 target depends on where the
server's data is (Flux fsyncs before it acknowledges): < 10 ms on tmpfs, < 25 ms on a disk; a
run judges the one for the filesystem it used (the WebSocket section names it), so
\`TMPDIR=/dev/shm npm run bench\` judges the tmpfs one.`;
}

function running(): string {
  return `## Running

\`\`\`bash
npm run bench                      # embedded, full (several minutes)
npm run bench -- --quick           # the same structure, smaller: under a minute
npm run bench -- --cluster         # the distributed topology on local Kafka and Redis
npm run bench -- --only ingest,websocket
\`\`\`

\`--cluster\` uses \`KAFKA_BROKERS\` / \`REDIS_URL\` when set, else starts (or reuses) them with
\`npm run services:up\`. Results go to \`bench/results/<YYYY-MM-DD>[-cluster][-quick][-partial].json\`
(every figure, the parameters, the machine, versions and commit, the targets); \`--out <file>\`
writes elsewhere. Each run prints its figures and rewrites this page from \`bench/results/\`
unless \`--no-docs\` is given. Scenarios: \`ingest\`, \`batch\`, \`reads\`, \`websocket\`, \`wait-applied\`, \`large-entity\`, \`filtered-list\`, \`memory\`.

**Before/after comparisons**: run the same harness against another commit's server.

\`\`\`bash
git worktree add /tmp/flux-before <commit>
(cd /tmp/flux-before && npm ci)
npm run bench -- --quick --flux-root /tmp/flux-before   # → bench/results/<date>-quick-flux-<commit>.json
npm run bench -- --quick                                 # this checkout
\`\`\`

The harness (load generators, baseline server) always comes from this checkout; only the
server under test comes from \`--flux-root\`, started on that checkout's own \`node_modules\`.

**Another disk**: the server's data directory is a fresh directory under \`$TMPDIR\` (default
\`/tmp\`), so \`TMPDIR=/mnt/other npm run bench\` measures Flux on another filesystem.

**Profiling under the same load**: \`--node-args\` passes Node.js flags to every server process
(the embedded server, or each process of the cluster). Such a run is never counted as complete,
so it never takes the place of a complete run on this page. \`npm run bench:cpu-profile -- <file>\`
summarises a profile by part of Flux; [performance.md](performance.md) explains what limits the
figures.

\`\`\`bash
npm run bench -- --only batch --no-docs --node-args="--cpu-prof --cpu-prof-dir=/tmp/flux-prof"
\`\`\``;
}

function resultsSection(embedded: BenchResults | undefined, cluster: BenchResults | undefined): string {
  const runs = [embedded, cluster].filter((results): results is BenchResults => results !== undefined);
  if (runs.length === 0) return '## Results\n\nNo results yet: run `npm run bench`.';
  const perRun = runs.map((results) =>
    [
      `### ${results.run.deployment === 'embedded' ? 'Embedded' : 'Cluster'}: ${runTitle(results)}`,
      '',
      machineLine(results),
      '',
      // Each run's own sections are one heading level down.
      runFigures(results).replace(/^### /gm, '#### '),
    ].join('\n'),
  );
  const quick = runs.some((results) => results.run.quick)
    ? ' Runs marked *quick* are smaller runs shown because no full run of that deployment is recorded; their figures are rougher.'
    : '';
  return [
    '## Results',
    '',
    `Figures from a 2-core machine that other work shares; see the load averages and the load-generator warnings of each run.${quick}`,
    '',
    targetsTable(runs.flatMap((results) => results.targets)),
    '',
    `![p50 and p99 latency against offered rate](benchmarks/latency.svg)`,
    '',
    ...perRun.flatMap((section) => [section, '']),
  ].join('\n');
}

export function renderBenchmarksDoc(embedded: BenchResults | undefined, cluster: BenchResults | undefined): string {
  return `# Benchmarks

<!-- Written by \`npm run bench\` (bench/src/benchmarks-doc.ts) from bench/results/*.json. -->

\`npm run bench\` measures a fresh Flux deployment from a separate load process over loopback:
single-event ingest and reads (each against a bare Fastify baseline), batch ingest until
materialised, publish → WebSocket delivery latency, server CPU and event-loop delay, and
resident memory.

${resultsSection(embedded, cluster)}
${running()}

${methodology()}
`;
}

/** Rewrites the page and the chart from the results directory; returns the results shown. */
export function writeBenchmarksDoc(repoRoot: string, resultsDir: string): BenchResults[] {
  const all = readResultsDir(resultsDir);
  const embedded = pickForDocs(all, 'embedded');
  const cluster = pickForDocs(all, 'cluster');
  const shown = [embedded, cluster].filter((results): results is BenchResults => results !== undefined);
  const chart = renderLatencyChart(latencySeries(shown), 'Flux latency against offered rate (p50 solid, p99 dashed)', [
    { y: 10, label: 'embedded WebSocket p99 target, tmpfs (5k/s)' },
    { y: 25, label: 'embedded WebSocket p99 target, disk (5k/s)' },
    ...(cluster === undefined ? [] : [{ y: 50, label: 'cluster WebSocket p99 target (2k/s)' }]),
  ]);
  mkdirSync(dirname(join(repoRoot, CHART_PATH)), { recursive: true });
  writeFileSync(join(repoRoot, CHART_PATH), `${chart}\n`);
  writeFileSync(join(repoRoot, DOC_PATH), renderBenchmarksDoc(embedded, cluster));
  return shown;
}
