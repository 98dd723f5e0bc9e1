import { describe, expect, it } from 'vitest';
import { latencySeries, logTicks, PLOT, renderLatencyChart, type ChartSeries } from '../src/latency-chart.js';
import { benchResults, websocketRate, websocket } from './fixtures.js';

/** Checks that every tag is closed in order and text holds no raw markup characters. */
function expectWellFormed(svg: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let position = 0;
  for (let match = tag.exec(svg); match !== null; match = tag.exec(svg)) {
    const text = svg.slice(position, match.index);
    expect(text).not.toMatch(/[<>]|&(?!(amp|lt|gt|quot);)/);
    const [, closing, name, , selfClosing] = match;
    if (closing === '/') expect(stack.pop()).toBe(name);
    else if (selfClosing !== '/') stack.push(name!);
    position = match.index + match[0].length;
  }
  expect(svg.slice(position).trim()).toBe('');
  expect(stack).toEqual([]);
}

const seriesOf = (svg: string): { name: string; points: number }[] =>
  [...svg.matchAll(/<g class="series" data-name="([^"]*)">\s*<polyline[^>]* points="([^"]*)"/g)].map((match) => ({
    name: match[1]!,
    points: match[2]!.trim().split(' ').length,
  }));

describe('renderLatencyChart', () => {
  it('draws one line per series with a point per offered rate, and a legend entry for each', () => {
    const series: ChartSeries[] = [
      {
        name: 'ingest p50',
        color: '#000',
        dashed: false,
        points: [
          { x: 500, y: 1 },
          { x: 1000, y: 2 },
          { x: 5000, y: 30 },
        ],
      },
      {
        name: 'ingest p99 <&>',
        color: '#f00',
        dashed: true,
        points: [
          { x: 500, y: 4 },
          { x: 5000, y: 300 },
        ],
      },
      { name: 'empty', color: '#0f0', dashed: false, points: [] },
    ];
    const svg = renderLatencyChart(series, 'Latency', [{ y: 10, label: 'target' }]);
    expectWellFormed(svg);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(seriesOf(svg)).toEqual([
      { name: 'ingest p50', points: 3 },
      { name: 'ingest p99 &lt;&amp;&gt;', points: 2 },
    ]);
    expect(svg).toContain('stroke-dasharray="6 4"');
    expect(svg).toContain('>ingest p99 &lt;&amp;&gt;</text>');
    expect(svg).toContain('>target</text>');
    for (const label of ['500', '1k', '5k']) expect(svg).toContain(`>${label}</text>`);
  });

  it('says so when there is nothing to draw', () => {
    const svg = renderLatencyChart([], 'Latency');
    expectWellFormed(svg);
    expect(svg).toContain('no latency figures yet');
  });

  it('keeps zero latencies on the chart, at the floor of the axis', () => {
    const svg = renderLatencyChart(
      [
        {
          name: 'zero',
          color: '#000',
          dashed: false,
          points: [
            { x: 1000, y: 0 },
            { x: 2000, y: 5 },
          ],
        },
      ],
      'Latency',
    );
    expectWellFormed(svg);
    expect(svg).not.toContain('NaN');
    expect(svg).not.toContain('Infinity');
    // Both points are drawn, and the zero sits on the bottom edge of the plot.
    const polyline = /<polyline[^>]* points="([^"]+)"/.exec(svg)?.[1]?.split(' ') ?? [];
    expect(polyline).toHaveLength(2);
    expect(Number(polyline[0]!.split(',')[1])).toBe(PLOT.bottom);
  });
});

describe('latencySeries', () => {
  it('takes p50 and p99 of single-event ingest and WebSocket delivery from each run', () => {
    const embedded = benchResults();
    const cluster = benchResults({
      deployment: 'cluster',
      scenarios: {
        websocket: websocket([websocketRate(1000, 5, 20), websocketRate(2000, 6, 30), websocketRate(5000, 9, 90)]),
      },
    });
    const series = latencySeries([embedded, cluster]);
    expect(series.map((entry) => `${entry.name}:${entry.points.length}`)).toEqual([
      'embedded: POST /api/events p50:2',
      'embedded: POST /api/events p99:2',
      'embedded: WebSocket p50:2',
      'embedded: WebSocket p99:2',
      'cluster: POST /api/events p50:0',
      'cluster: POST /api/events p99:0',
      'cluster: WebSocket p50:3',
      'cluster: WebSocket p99:3',
    ]);
    // The embedded fixture's fixed-rate runs: 1000/s with p99 3 ms, 5000/s with p99 8 ms.
    expect(series[1]!.points).toEqual([
      { x: 1000, y: 3 },
      { x: 5000, y: 8 },
    ]);
    expect(series[7]!.points).toEqual([
      { x: 1000, y: 20 },
      { x: 2000, y: 30 },
      { x: 5000, y: 90 },
    ]);
    expect(series.filter((entry) => entry.dashed).map((entry) => entry.name.endsWith('p99'))).toEqual([true, true, true, true]);
  });
});

describe('logTicks', () => {
  it('gives 1-2-5 steps across the decades of the range', () => {
    expect(logTicks(0.1, 100)).toEqual([0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]);
    expect(logTicks(1, 10)).toEqual([1, 2, 5, 10]);
  });
});
