/**
 * The soak's summary of its samples, per process: resident memory at the end of the warm-up and
 * at the end, its growth, and the worst event-loop delay. Pure, so it is unit-tested.
 */
export interface SoakSample {
  /** Milliseconds since the load started. */
  readonly atMs: number;
  readonly rssBytes: number;
  /** Worst event-loop delay since the previous sample (undefined for Redis and Kafka). */
  readonly loopDelayMaxMs?: number;
  readonly loopDelayP99Ms?: number;
}

export interface ProcessSummary {
  readonly name: string;
  readonly samples: number;
  readonly rssAfterWarmupBytes: number;
  readonly rssEndBytes: number;
  readonly rssGrowthBytes: number;
  /** Growth per hour, from a least-squares line through the samples after the warm-up. */
  readonly rssSlopeBytesPerHour: number;
  readonly worstLoopDelayMs: number | undefined;
  readonly worstLoopDelayAfterWarmupMs: number | undefined;
  readonly worstLoopDelayP99Ms: number | undefined;
}

export function summarise(name: string, samples: readonly SoakSample[], warmupMs: number): ProcessSummary | undefined {
  if (samples.length === 0) return undefined;
  const after = samples.filter((sample) => sample.atMs >= warmupMs);
  const steady = after.length > 0 ? after : samples.slice(-1);
  const first = steady[0]!;
  const last = steady[steady.length - 1]!;
  const worst = (list: readonly SoakSample[], pick: (sample: SoakSample) => number | undefined): number | undefined => {
    const values = list.map(pick).filter((value): value is number => value !== undefined);
    return values.length === 0 ? undefined : Math.max(...values);
  };
  return {
    name,
    samples: samples.length,
    rssAfterWarmupBytes: first.rssBytes,
    rssEndBytes: last.rssBytes,
    rssGrowthBytes: last.rssBytes - first.rssBytes,
    rssSlopeBytesPerHour: slope(steady) * 3_600_000,
    worstLoopDelayMs: worst(samples, (sample) => sample.loopDelayMaxMs),
    worstLoopDelayAfterWarmupMs: worst(after, (sample) => sample.loopDelayMaxMs),
    worstLoopDelayP99Ms: worst(after, (sample) => sample.loopDelayP99Ms),
  };
}

/** Bytes per millisecond of the least-squares line through (atMs, rssBytes); 0 below 2 samples. */
export function slope(samples: readonly SoakSample[]): number {
  if (samples.length < 2) return 0;
  const n = samples.length;
  const meanX = samples.reduce((sum, sample) => sum + sample.atMs, 0) / n;
  const meanY = samples.reduce((sum, sample) => sum + sample.rssBytes, 0) / n;
  let numerator = 0;
  let denominator = 0;
  for (const sample of samples) {
    numerator += (sample.atMs - meanX) * (sample.rssBytes - meanY);
    denominator += (sample.atMs - meanX) ** 2;
  }
  return denominator === 0 ? 0 : numerator / denominator;
}
