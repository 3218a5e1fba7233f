/**
 * Hard-fault rules applied on top of the anomaly model: conditions that are
 * critical by definition, whatever the model scores. They read the feature
 * row (so deltas use the device baseline) and the raw XID code for naming.
 */
import type { HealthClass } from '../../lib/alerts/types.ts';
import type { Point } from '../../lib/point.ts';
import { FI } from './features.ts';

/** NVIDIA XID codes operators see most, named for the reason string (docs.nvidia.com XID catalogue). */
export const XID_NAMES: Readonly<Record<number, string>> = {
  13: 'graphics_engine_exception',
  31: 'gpu_memory_page_fault',
  32: 'invalid_push_buffer_stream',
  43: 'gpu_stopped_processing',
  45: 'preemptive_cleanup',
  48: 'double_bit_ecc_error',
  61: 'microcontroller_breakpoint',
  62: 'microcontroller_halt',
  63: 'row_remap_or_page_retirement_event',
  64: 'row_remap_or_page_retirement_failure',
  68: 'video_processor_exception',
  74: 'nvlink_error',
  79: 'gpu_fallen_off_bus',
  92: 'high_single_bit_ecc_rate',
  94: 'contained_ecc_error',
  95: 'uncontained_ecc_error',
  119: 'gsp_rpc_timeout',
  120: 'gsp_error',
};

export interface HardFaultResult {
  /** 'critical' when any rule fired, else null (the model decides). */
  class: Extract<HealthClass, 'critical'> | null;
  reasons: string[];
}

/** Reason string for an XID code, e.g. `xid_79_gpu_fallen_off_bus`. */
export function xidReason(code: number): string {
  const name = XID_NAMES[code];
  return name ? `xid_${code}_${name}` : `xid_${code}`;
}

/**
 * Rules: any XID (> 0) is critical; an ecc_dbe increase since the device's
 * previous reading is critical (the first reading of a device has no delta:
 * a historical non-zero counter is not a new fault); thermal slowdown or HW
 * slowdown active is critical.
 */
export function hardFaults(point: Point, features: Float32Array, offset: number): HardFaultResult {
  const reasons: string[] = [];
  if ((features[offset + FI.xid_present] ?? 0) > 0) reasons.push(xidReason(Math.trunc(point.fields['xid'] ?? 0)));
  const dbeLog = features[offset + FI.ecc_dbe_delta_log] ?? 0;
  if (dbeLog > 0) reasons.push(`ecc_dbe_increase_${Math.round(Math.expm1(dbeLog))}`);
  if ((features[offset + FI.throttle_thermal] ?? 0) > 0) reasons.push('thermal_slowdown');
  if ((features[offset + FI.throttle_hw_slowdown] ?? 0) > 0) reasons.push('hw_slowdown');
  return { class: reasons.length > 0 ? 'critical' : null, reasons };
}
