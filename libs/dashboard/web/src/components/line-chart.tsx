import { useId } from 'preact/hooks';

interface LineChartProps {
  title: string;
  /** Samples, oldest first. */
  values: readonly number[];
  /** How the current value reads (`12.5 events/s`). */
  format: (value: number) => string;
  /** Seconds between samples, for the time axis. */
  periodSeconds: number;
}

const WIDTH = 320;
const HEIGHT = 120;
const PAD = { top: 8, right: 8, bottom: 18, left: 8 };

/**
 * A small SVG line chart of recent samples. The figure is described in text too (current,
 * highest and lowest value), for screen readers and for a glance.
 */
export function LineChart({ title, values, format, periodSeconds }: LineChartProps) {
  const id = useId();
  const current = values.at(-1);
  const max = values.length > 0 ? Math.max(...values) : 0;
  const min = values.length > 0 ? Math.min(...values) : 0;
  // Small positive values are drawn from 0; a flat line sits in the middle.
  const flat = max === min;
  const low = flat ? min - 1 : min >= 0 && min <= max / 2 ? 0 : min;
  const span = flat ? 2 : max - low;
  const innerWidth = WIDTH - PAD.left - PAD.right;
  const innerHeight = HEIGHT - PAD.top - PAD.bottom;
  const step = values.length > 1 ? innerWidth / (values.length - 1) : 0;
  const points = values.map((value, index) => {
    const x = PAD.left + index * step;
    const y = PAD.top + innerHeight - ((value - low) / span) * innerHeight;
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  const windowSeconds = Math.max(0, values.length - 1) * periodSeconds;
  const summary =
    current === undefined
      ? 'no samples yet'
      : `now ${format(current)}; over the last ${windowSeconds} s at most ${format(max)}, at least ${format(min)}`;
  return (
    <figure class="chart" aria-labelledby={`${id}-title`}>
      <figcaption id={`${id}-title`}>
        <span class="chart-title">{title}</span>
        <span class="chart-value">{current === undefined ? '—' : format(current)}</span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`${title}: ${summary}`}>
        <line class="chart-axis" x1={PAD.left} y1={HEIGHT - PAD.bottom} x2={WIDTH - PAD.right} y2={HEIGHT - PAD.bottom} />
        {points.length > 1 ? <polyline class="chart-line" points={points.join(' ')} /> : null}
        {points.length === 1 ? <circle class="chart-dot" cx={PAD.left} cy={points[0]?.split(',')[1]} r="3" /> : null}
        <text class="chart-label" x={PAD.left} y={HEIGHT - 4}>
          {windowSeconds > 0 ? `−${windowSeconds} s` : ''}
        </text>
        <text class="chart-label" x={WIDTH - PAD.right} y={HEIGHT - 4} text-anchor="end">
          now
        </text>
      </svg>
      <p class="chart-summary">{current === undefined ? 'Waiting for the first sample…' : `max ${format(max)} · min ${format(min)}`}</p>
    </figure>
  );
}
