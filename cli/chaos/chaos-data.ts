/**
 * One chaos scenario's data set: a seeded nvidia-smi capture
 * (lib/sample/generate-sample.ts) on the scenario's own host — so its GPU
 * UUIDs, and its alert, belong to no other scenario on the shared stack — with
 * a thermal-runaway episode on GPU 0 from the middle of the file to its end
 * (it pages mid-ingest and is still firing when acknowledged). The samples
 * end at the current second: the rules judge the data's own clock, and an
 * old capture would page about the past.
 *
 * What the store must hold afterwards is computed from the same lines the
 * file gets: per device, the number of points and the sums of temperature_c
 * and power_w. Equal counts with different sums mean a point was rewritten
 * with other values; more points mean a point was written twice.
 */
import { join } from 'node:path';
import { gpuUuid, sampleLines, writeLines } from '../../lib/sample/generate-sample.ts';
import { alertWorkflowId } from '../../lib/alerts/ids.ts';

/** The one rule of the chaos stack: > 90 °C held for 5 s of data time (the runaway crosses it ~16 s in). */
export const CHAOS_RULE = {
  name: 'chaos-gpu-temp-critical',
  description: 'GPU overheating (chaos suite)',
  kind: 'threshold',
  severity: 'critical',
  field: 'temperature_c',
  op: '>',
  value: 90,
  clear: 87,
  for: '5s',
} as const;

/** GPUs per scenario; points / GPUS samples each (100,000 points → 2,000 one-second samples). */
export const CHAOS_GPUS = 50;

export interface DeviceExpectation {
  points: number;
  temperatureSum: number;
  powerSum: number;
}

export interface ChaosDataSet {
  path: string;
  host: string;
  points: number;
  /** First and last sample, epoch ms. */
  startMs: number;
  endMs: number;
  devices: Map<string, DeviceExpectation>;
  /** The GPU that overheats, and the id of the alert it must raise (exactly once). */
  faultDevice: string;
  alertId: string;
}

/** Writes `points` rows (a multiple of CHAOS_GPUS) for `scenario` into `dir`. */
export async function writeChaosData(dir: string, scenario: string, points: number, seed: number): Promise<ChaosDataSet> {
  if (points % CHAOS_GPUS !== 0) throw new RangeError(`points must be a multiple of ${CHAOS_GPUS}, got ${points}`);
  const samples = points / CHAOS_GPUS;
  const host = `chaos-${scenario}`;
  const endMs = Math.floor(Date.now() / 1_000) * 1_000;
  const startMs = endMs - (samples - 1) * 1_000;
  const start = Math.floor(samples / 2);
  const devices = new Map<string, DeviceExpectation>();
  const lines = sampleLines({ gpus: CHAOS_GPUS, samples, startMs, seed, host, fault: { gpu: 0, start, length: samples - start } });
  function* counted(): Generator<string> {
    let header = true;
    for (const line of lines) {
      yield line;
      if (header) {
        header = false;
        continue;
      }
      // timestamp, name, pci.bus_id, uuid, index, temperature.gpu, power.draw [W], … (units in cells)
      const cells = line.split(', ');
      const uuid = cells[3]!;
      const e = devices.get(uuid) ?? { points: 0, temperatureSum: 0, powerSum: 0 };
      e.points++;
      e.temperatureSum += Number(cells[5]);
      e.powerSum += Number.parseFloat(cells[6]!);
      devices.set(uuid, e);
    }
  }
  const path = join(dir, `${host}.csv`);
  await writeLines(path, counted());
  const faultDevice = gpuUuid(host, 0);
  return { path, host, points, startMs, endMs, devices, faultDevice, alertId: alertWorkflowId(faultDevice, CHAOS_RULE.name) };
}
