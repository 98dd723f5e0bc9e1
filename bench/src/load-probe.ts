/**
 * Watches the load process while it measures. The load generator shares two cores with the
 * server, so a figure is only as good as the generator's ability to keep its schedule: when its
 * event loop stalls or it uses a whole core, the result says so instead of blaming the server.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface LoadProbeSummary {
  readonly wallSeconds: number;
  /** Cores the load process used on average (1 = one core fully busy). */
  readonly loadCpuCores: number;
  /** Cores the deployment's processes used on average; null when unknown. */
  readonly serverCpuCores: number | null;
  /** CPU seconds the deployment's processes used over the probe; null when unknown (absent in older results). */
  readonly serverCpuSeconds?: number | null;
  /** Event-loop delay of the load process, ms. */
  readonly eventLoopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly warnings: readonly string[];
}

/** Above these the load process, not the server, may be what limits or delays the figures. */
export const LOAD_CPU_WARNING_CORES = 0.9;
export const EVENT_LOOP_P99_WARNING_MS = 20;

export function loadWarnings(loadCpuCores: number, eventLoopP99Ms: number): string[] {
  const warnings: string[] = [];
  if (loadCpuCores >= LOAD_CPU_WARNING_CORES) {
    warnings.push(`the load process used ${loadCpuCores.toFixed(2)} cores: it may be the bottleneck (it is single-threaded)`);
  }
  if (eventLoopP99Ms >= EVENT_LOOP_P99_WARNING_MS) {
    warnings.push(`the load process's event loop was delayed ${eventLoopP99Ms.toFixed(1)} ms at p99: its timing is that coarse`);
  }
  return warnings;
}

/** The event-loop delay timer's period; each sample includes it, so it is subtracted. */
const SAMPLE_MS = 5;

export class LoadProbe {
  private readonly histogram = monitorEventLoopDelay({ resolution: SAMPLE_MS });
  private readonly startedAt = performance.now();
  private readonly cpuAtStart = process.cpuUsage();
  private readonly serverCpuAtStart: number | undefined;

  constructor(private readonly serverCpuSeconds?: () => number) {
    this.serverCpuAtStart = serverCpuSeconds?.();
    this.histogram.enable();
  }

  stop(): LoadProbeSummary {
    this.histogram.disable();
    const wallSeconds = (performance.now() - this.startedAt) / 1000;
    const cpu = process.cpuUsage(this.cpuAtStart);
    const loadCpuCores = (cpu.user + cpu.system) / 1e6 / wallSeconds;
    const serverCpuSeconds =
      this.serverCpuSeconds === undefined || this.serverCpuAtStart === undefined ? null : this.serverCpuSeconds() - this.serverCpuAtStart;
    const serverCpuCores = serverCpuSeconds === null ? null : serverCpuSeconds / wallSeconds;
    const ms = (nanoseconds: number): number => Math.round(Math.max(0, nanoseconds / 1e6 - SAMPLE_MS) * 100) / 100;
    const eventLoopDelayMs = { p50: ms(this.histogram.percentile(50)), p99: ms(this.histogram.percentile(99)), max: ms(this.histogram.max) };
    const round2 = (value: number): number => Math.round(value * 100) / 100;
    return {
      wallSeconds: round2(wallSeconds),
      loadCpuCores: round2(loadCpuCores),
      serverCpuCores: serverCpuCores === null ? null : round2(serverCpuCores),
      serverCpuSeconds: serverCpuSeconds === null ? null : Math.round(serverCpuSeconds * 1000) / 1000,
      eventLoopDelayMs,
      warnings: loadWarnings(loadCpuCores, eventLoopDelayMs.p99),
    };
  }
}
