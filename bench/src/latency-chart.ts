/**
 * The latency chart of docs/benchmarks.md: p50 and p99 against offered rate, for single-event
 * ingest and WebSocket delivery, log-log. Plain SVG written here: one chart does not justify a
 * charting dependency, and the output stays reviewable in a diff.
 */
import type { BenchResults } from './results.js';

export interface ChartPoint {
  /** Offered rate, events/s. */
  readonly x: number;
  /** Latency, ms. */
  readonly y: number;
}

export interface ChartSeries {
  readonly name: string;
  readonly color: string;
  readonly dashed: boolean;
  readonly points: readonly ChartPoint[];
}

export interface ChartThreshold {
  readonly y: number;
  readonly label: string;
}

const WIDTH = 900;
const HEIGHT = 470;
/** The plot area inside the SVG, in pixels. */
export const PLOT = { left: 70, right: WIDTH - 290, top: 48, bottom: HEIGHT - 58 };

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fixed = (value: number): string => value.toFixed(1);

function formatRate(rate: number): string {
  return rate >= 1000 ? `${rate / 1000}k` : String(rate);
}

function formatMs(ms: number): string {
  return ms >= 1 ? `${ms}` : ms.toPrecision(1);
}

/** Logarithmic mapping of [min, max] onto [from, to]. */
function logScale(min: number, max: number, from: number, to: number): (value: number) => number {
  const lo = Math.log10(min);
  const span = Math.log10(max) - lo || 1;
  return (value) => from + ((Math.log10(value) - lo) / span) * (to - from);
}

/** 1-2-5 ticks covering [min, max]. */
export function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let exponent = Math.floor(Math.log10(min)); exponent <= Math.ceil(Math.log10(max)); exponent++) {
    for (const mantissa of [1, 2, 5]) {
      const tick = mantissa * 10 ** exponent;
      if (tick >= min * 0.999 && tick <= max * 1.001) ticks.push(Number(tick.toPrecision(3)));
    }
  }
  return ticks;
}

export function renderLatencyChart(series: readonly ChartSeries[], title: string, thresholds: readonly ChartThreshold[] = []): string {
  const drawn = series.filter((entry) => entry.points.length > 0);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  if (drawn.length === 0) {
    out.push(`<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle">no latency figures yet</text>`, '</svg>');
    return out.join('\n');
  }
  const xs = drawn.flatMap((entry) => entry.points.map((point) => point.x));
  // Latencies of 0 cannot sit on a log axis; they are drawn at the axis floor.
  const ys = [...drawn.flatMap((entry) => entry.points.map((point) => point.y)), ...thresholds.map((threshold) => threshold.y)].filter((y) => y > 0);
  const xMin = Math.min(...xs) / 1.25;
  const xMax = Math.max(...xs) * 1.25;
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...ys, 1)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...ys, yMin * 10)));
  const x = logScale(xMin, xMax, PLOT.left, PLOT.right);
  const y = logScale(yMin, yMax, PLOT.bottom, PLOT.top);

  out.push(`<g stroke="#e0e0e0" stroke-width="1">`);
  const yTicks = logTicks(yMin, yMax);
  for (const tick of yTicks) out.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${fixed(y(tick))}" y2="${fixed(y(tick))}"/>`);
  const xTicks = [...new Set(xs)].sort((a, b) => a - b);
  for (const tick of xTicks) out.push(`<line x1="${fixed(x(tick))}" x2="${fixed(x(tick))}" y1="${PLOT.top}" y2="${PLOT.bottom}"/>`);
  out.push('</g>');
  out.push(`<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#444"/>`);
  for (const tick of yTicks) out.push(`<text x="${PLOT.left - 6}" y="${fixed(y(tick) + 4)}" text-anchor="end">${formatMs(tick)}</text>`);
  for (const tick of xTicks) out.push(`<text x="${fixed(x(tick))}" y="${PLOT.bottom + 18}" text-anchor="middle">${formatRate(tick)}</text>`);
  out.push(`<text x="${(PLOT.left + PLOT.right) / 2}" y="${HEIGHT - 18}" text-anchor="middle">offered rate (events/s, log scale)</text>`);
  out.push(`<text transform="translate(18 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle">latency (ms, log scale)</text>`);

  for (const threshold of thresholds) {
    const ty = fixed(y(threshold.y));
    out.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${ty}" y2="${ty}" stroke="#888" stroke-dasharray="2 3"/>`);
    out.push(
      `<text x="${PLOT.right - 4}" y="${fixed(y(threshold.y) - 4)}" text-anchor="end" fill="#666" font-size="11">${escapeXml(threshold.label)}</text>`,
    );
  }

  drawn.forEach((entry, index) => {
    const points = [...entry.points].sort((a, b) => a.x - b.x).map((point) => `${fixed(x(point.x))},${fixed(y(Math.max(point.y, yMin)))}`);
    const dash = entry.dashed ? ' stroke-dasharray="6 4"' : '';
    out.push(`<g class="series" data-name="${escapeXml(entry.name)}">`);
    out.push(`<polyline fill="none" stroke="${entry.color}" stroke-width="2"${dash} points="${points.join(' ')}"/>`);
    for (const point of points) {
      const [cx, cy] = point.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${entry.color}"/>`);
    }
    out.push('</g>');
    const ly = PLOT.top + 10 + index * 20;
    out.push(`<line x1="${PLOT.right + 16}" x2="${PLOT.right + 46}" y1="${ly}" y2="${ly}" stroke="${entry.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${PLOT.right + 52}" y="${ly + 4}">${escapeXml(entry.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

const COLORS = {
  embedded: { ingest: '#1f6fb4', websocket: '#e67e00' },
  cluster: { ingest: '#2a9d3a', websocket: '#c0392b' },
} as const;

/** p50 (solid) and p99 (dashed) of single-event ingest and WebSocket delivery, per run. */
export function latencySeries(runs: readonly BenchResults[]): ChartSeries[] {
  const series: ChartSeries[] = [];
  for (const results of runs) {
    const kind = results.run.deployment;
    const ingest = results.scenarios.ingest?.fixedRate ?? [];
    const websocket = results.scenarios.websocket?.rates ?? [];
    for (const percentile of ['p50', 'p99'] as const) {
      series.push({
        name: `${kind}: POST /api/events ${percentile}`,
        color: COLORS[kind].ingest,
        dashed: percentile === 'p99',
        points: ingest.map((run) => ({ x: run.offeredRate, y: run.latencyMs[percentile] })),
      });
    }
    for (const percentile of ['p50', 'p99'] as const) {
      series.push({
        name: `${kind}: WebSocket ${percentile}`,
        color: COLORS[kind].websocket,
        dashed: percentile === 'p99',
        points: websocket.map((run) => ({ x: run.rate, y: run.latencyMs[percentile] })),
      });
    }
  }
  return series;
}
