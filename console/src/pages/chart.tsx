/**
 * One uPlot chart over a SeriesBuffer. Drag to zoom: the zoomed range is
 * fetched again from the API (downsampled there), double-click resets to the
 * live window.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { SeriesBuffer } from '../series-buffer.ts';

export interface ChartProps {
  field: string;
  unit: string;
  buffer: SeriesBuffer;
  /** Bumped when the buffer changed. */
  version: number;
  onZoom: (fromS: number, toS: number) => void;
  onReset: () => void;
}

export function Chart({ field, unit, buffer, version, onZoom, onReset }: ChartProps) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const zoomed = useRef(false);
  useEffect(() => {
    const host = el.current!;
    const width = () => Math.max(260, host.clientWidth);
    plot.current = new uPlot(
      {
        width: width(),
        height: 180,
        // The caption shows the latest value; uPlot's legend table does not fit small screens.
        legend: { show: false },
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: true } },
        series: [{}, { label: `${field} (${unit})`, stroke: '#2563eb', width: 1.5, spanGaps: false }],
        axes: [{}, { size: 50 }],
        hooks: {
          setSelect: [
            (u) => {
              if (u.select.width < 5) return;
              const a = u.posToVal(u.select.left, 'x');
              const b = u.posToVal(u.select.left + u.select.width, 'x');
              zoomed.current = true;
              onZoom(a, b);
            },
          ],
        },
      },
      buffer.data() as uPlot.AlignedData,
      host,
    );
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: width(), height: 180 }));
    ro.observe(host);
    const dbl = () => {
      zoomed.current = false;
      onReset();
    };
    host.addEventListener('dblclick', dbl);
    return () => {
      ro.disconnect();
      host.removeEventListener('dblclick', dbl);
      plot.current?.destroy();
    };
  }, [field]);
  useEffect(() => {
    plot.current?.setData(buffer.data() as uPlot.AlignedData, true);
  }, [version]);
  const last = buffer.last();
  return (
    <figure class="chart" data-field={field} data-points={buffer.length}>
      <figcaption>
        {field} <span class="last" data-testid={`last-${field}`}>{last === undefined || last === null ? '–' : `${Number(last.toFixed(2))} ${unit}`}</span>
      </figcaption>
      <div ref={el} role="img" aria-label={`${field} over time, ${buffer.length} points`} />
    </figure>
  );
}
