import { describe, expect, it } from 'vitest';
import { LatencyRecorder, summarize } from '../src/latency-recorder.js';

describe('LatencyRecorder', () => {
  it('gives percentiles of recorded samples to three significant digits', () => {
    const summary = summarize(Array.from({ length: 1000 }, (_, index) => index + 1));
    expect(summary.count).toBe(1000);
    expect(summary.min).toBeCloseTo(1, 2);
    expect(summary.p50).toBeCloseTo(500, -1);
    expect(summary.p90).toBeCloseTo(900, -1);
    expect(summary.p99).toBeCloseTo(990, -1);
    expect(summary.p999).toBeCloseTo(999, -1);
    expect(summary.max).toBeCloseTo(1000, -1);
    expect(summary.mean).toBeCloseTo(500.5, 0);
  });

  it('keeps sub-millisecond resolution', () => {
    const summary = summarize([0.25, 0.25, 0.25, 0.75]);
    expect(summary.p50).toBeCloseTo(0.25, 3);
    expect(summary.max).toBeCloseTo(0.75, 3);
  });

  it('puts a single slow outlier in the tail, not the median', () => {
    const summary = summarize([...Array.from({ length: 999 }, () => 2), 5000]);
    expect(summary.p50).toBeCloseTo(2, 2);
    expect(summary.p99).toBeCloseTo(2, 2);
    expect(summary.max).toBeGreaterThan(4990);
  });

  it('summarises nothing as zeros and records negative values as zero', () => {
    expect(new LatencyRecorder().summary()).toEqual({ count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
    const recorder = new LatencyRecorder();
    recorder.record(-3);
    expect(recorder.count).toBe(1);
    expect(recorder.summary().max).toBeLessThanOrEqual(0.001);
  });
});
