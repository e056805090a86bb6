import { useEffect, useRef } from 'preact/hooks';
import type uPlot from 'uplot';

export interface Line { label: string; values: (number | null)[]; color: string }

/** A time-series chart (uPlot): x in ms since the epoch; redrawn when the data change. */
export function TimeChart({ title, x, lines, unit, height = 180 }: { title: string; x: number[]; lines: Line[]; unit: string; height?: number }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = lines.map((l) => l.label).join('|');
  // The newest data, for a chart created after uPlot has loaded.
  const xs = useRef(x);
  const ls = useRef(lines);
  xs.current = x;
  ls.current = lines;
  useEffect(() => {
    const node = el.current;
    if (!node) return undefined;
    let stopped = false;
    let onResize: (() => void) | undefined;
    // uPlot (and its CSS) load with the first chart: pages without charts (the models list first
    // of all) do not parse it.
    void import('./uplot.js').then(({ default: UPlot }) => {
      if (stopped) return;
      const width = Math.max(280, node.clientWidth || 480);
      plot.current = new UPlot({
        width, height,
        series: [{}, ...lines.map((l) => ({ label: l.label, stroke: l.color, width: 2, spanGaps: false, value: (_u: uPlot, v: number | null) => (v === null ? '–' : `${Number(v.toPrecision(3))} ${unit}`) }))],
        axes: [{ stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' } }, { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' }, size: 56 }],
        scales: { x: { time: true } },
        legend: { live: false },
      }, [xs.current.map((t) => t / 1000), ...ls.current.map((l) => l.values)], node);
      onResize = () => plot.current?.setSize({ width: Math.max(280, node.clientWidth), height });
      addEventListener('resize', onResize);
    });
    return () => {
      stopped = true;
      if (onResize) removeEventListener('resize', onResize);
      plot.current?.destroy();
      plot.current = null;
    };
    // Rebuilt only when the set of lines changes; new points go through setData below.
  }, [shape, height, unit]);
  useEffect(() => {
    plot.current?.setData([x.map((t) => t / 1000), ...lines.map((l) => l.values)]);
  }, [x, lines]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={el} role="img" aria-label={`${title}: ${lines.map((l) => `${l.label} latest ${l.values.at(-1) ?? 'none'} ${unit}`).join(', ')}`} />
    </figure>
  );
}

export const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
