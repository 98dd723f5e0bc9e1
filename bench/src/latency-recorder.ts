import { build, type Histogram } from 'hdr-histogram-js';

/** Percentiles of one measured distribution, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/** Recorded in microseconds: 1 µs resolution up to an hour, 3 significant digits. */
const HIGHEST_MICROS = 3_600_000_000;

const round3 = (value: number): number => Math.round(value * 1000) / 1000;

/**
 * Records latencies into an HdrHistogram. A histogram rather than an array of samples keeps
 * memory flat over millions of requests and gives the same percentiles wrk2 and autocannon
 * report (to 3 significant digits).
 */
export class LatencyRecorder {
  private readonly histogram: Histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_MICROS,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });

  /** Records one latency in milliseconds; negative values (clock granularity) count as 0. */
  record(milliseconds: number): void {
    const micros = Math.round(Math.max(0, milliseconds) * 1000);
    this.histogram.recordValue(Math.min(HIGHEST_MICROS, Math.max(1, micros)));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  summary(): LatencySummary {
    const h = this.histogram;
    if (h.totalCount === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
    const at = (percentile: number): number => round3(h.getValueAtPercentile(percentile) / 1000);
    return {
      count: h.totalCount,
      min: round3(h.minNonZeroValue / 1000),
      mean: round3(h.mean / 1000),
      p50: at(50),
      p90: at(90),
      p99: at(99),
      p999: at(99.9),
      max: round3(h.maxValue / 1000),
    };
  }
}

/** Summary of a list of samples in milliseconds (small sample sets, tests). */
export function summarize(samples: Iterable<number>): LatencySummary {
  const recorder = new LatencyRecorder();
  for (const sample of samples) recorder.record(sample);
  return recorder.summary();
}
