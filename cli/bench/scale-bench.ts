/**
 * `bench scale`: the ingest pipeline (bench ingest without the raw baselines)
 * at 1, 2 and 4 partitions with 64 devices, and at 64, 1,024 and 16,384
 * devices with 4 partitions, all with the same number of points: points/s and
 * CPU seconds per million points in one table. (4 partitions × 64 devices is
 * in both series and runs once.)
 */
import { runIngestBench, type IngestTrial } from './ingest-bench.ts';
import { formatTable } from './report.ts';

export const SCALE_PARTITIONS = [1, 2, 4] as const;
export const SCALE_DEVICES = [64, 1_024, 16_384] as const;

export interface ScaleBenchOptions {
  points: number;
  health: boolean;
  trials: number;
  log: (msg: string) => void;
}

export interface ScaleRow {
  partitions: number;
  devices: number;
  points: number;
  pipeline_pps: number;
  pipeline_pps_min: number;
  pipeline_pps_max: number;
  cpu_s_per_mpoint: IngestTrial['cpu_s_per_mpoint'];
  cpu_pipeline_vs_influxd: number;
}

export interface ScaleBenchResult {
  bench: 'scale';
  points: number;
  health: 'on' | 'off';
  trial_count: number;
  rows: ScaleRow[];
}

export function scaleConfigs(): { partitions: number; devices: number }[] {
  const all = [...SCALE_PARTITIONS.map((partitions) => ({ partitions, devices: 64 })), ...SCALE_DEVICES.map((devices) => ({ partitions: 4, devices }))];
  return all.filter((c, i) => all.findIndex((d) => d.partitions === c.partitions && d.devices === c.devices) === i);
}

export async function runScaleBench(o: ScaleBenchOptions): Promise<ScaleBenchResult> {
  const rows: ScaleRow[] = [];
  for (const c of scaleConfigs()) {
    o.log(`— ${c.partitions} partition(s), ${c.devices.toLocaleString('en-US')} devices`);
    const r = await runIngestBench({ points: o.points, devices: c.devices, fields: '16', health: o.health, partitions: c.partitions, trials: o.trials, baselines: false, log: o.log });
    rows.push({
      ...c,
      points: r.points,
      pipeline_pps: r.pipeline_pps,
      pipeline_pps_min: r.min.pipeline_pps,
      pipeline_pps_max: r.max.pipeline_pps,
      cpu_s_per_mpoint: r.cpu_s_per_mpoint,
      cpu_pipeline_vs_influxd: r.cpu_pipeline_vs_influxd,
    });
  }
  return { bench: 'scale', points: o.points, health: o.health ? 'on' : 'off', trial_count: o.trials, rows };
}

export function scaleTable(r: ScaleBenchResult): string {
  return `bench scale: ${r.points.toLocaleString('en-US')} points per run, health ${r.health}, medians of ${r.trial_count} trial(s); CPU in s per million points\n${formatTable(
    [
      { title: 'partitions', numeric: true },
      { title: 'devices', numeric: true },
      { title: 'points/s', numeric: true },
      { title: 'min–max', numeric: true },
      { title: 'CPU pipeline', numeric: true },
      { title: 'ingest', numeric: true },
      { title: 'worker', numeric: true },
      { title: 'nats', numeric: true },
      { title: 'temporal', numeric: true },
      { title: 'influxd', numeric: true },
      { title: 'pipeline/influxd', numeric: true },
    ],
    r.rows.map((x) => [
      x.partitions,
      x.devices,
      x.pipeline_pps,
      `${Math.round(x.pipeline_pps_min).toLocaleString('en-US')}–${Math.round(x.pipeline_pps_max).toLocaleString('en-US')}`,
      x.cpu_s_per_mpoint.pipeline,
      x.cpu_s_per_mpoint.ingest,
      x.cpu_s_per_mpoint.worker,
      x.cpu_s_per_mpoint.nats,
      x.cpu_s_per_mpoint.temporal,
      x.cpu_s_per_mpoint.influxd,
      x.cpu_pipeline_vs_influxd,
    ]),
  )}`;
}
