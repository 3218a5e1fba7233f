/**
 * The normalised telemetry point every stage speaks. One point = one device at
 * one instant. A missing value is absent from `fields`, never 0.
 */
export interface Point {
  /** Canonical device id: GPU UUID, else host+PCI bus id, else host+index, else host+model, else file name. */
  device: string;
  /** Timestamp in nanoseconds since the Unix epoch, as a decimal string (exact, JSON-safe). */
  ts: string;
  /** Low-cardinality identity tags (host, gpu_uuid, gpu_index, model, pci_bus_id, …). */
  tags: Record<string, string>;
  /** Numeric fields in SI-like units; see FIELD_DOCS. */
  fields: Record<string, number>;
}

/** Canonical field names (ARCHITECTURE.md "Data model"), with units. Parsers may emit others. */
export const FIELD_DOCS = {
  temperature_c: 'GPU core temperature, °C',
  mem_temperature_c: 'HBM/memory temperature, °C',
  power_w: 'board power draw, W',
  power_limit_w: 'enforced power limit, W',
  util_gpu_pct: 'GPU (SM) utilisation, %',
  util_mem_pct: 'memory-controller utilisation, %',
  mem_used_mib: 'framebuffer used, MiB',
  mem_total_mib: 'framebuffer total, MiB',
  mem_free_mib: 'framebuffer free, MiB',
  sm_clock_mhz: 'SM clock, MHz',
  sm_clock_max_mhz: 'max SM clock, MHz',
  mem_clock_mhz: 'memory clock, MHz',
  gr_clock_mhz: 'graphics clock, MHz',
  fan_pct: 'fan speed, %',
  ecc_sbe: 'single-bit (corrected) ECC errors, aggregate count',
  ecc_dbe: 'double-bit (uncorrected) ECC errors, aggregate count',
  xid: 'last XID error code (0 = none)',
  pstate: 'performance state number (P0 = 0)',
  throttle_reasons: 'clocks_event_reasons.active bitmask',
  throttle_hw_slowdown: '1 when HW slowdown is active',
  throttle_thermal: '1 when thermal slowdown (SW or HW) is active',
  throttle_power: '1 when SW power capping is active',
  ecc_sbe_volatile: 'single-bit ECC errors since the last GPU reset / driver load (volatile count)',
  ecc_dbe_volatile: 'double-bit ECC errors since the last GPU reset / driver load (volatile count); non-zero = not reset yet',
  gpu_recovery_action: "driver's recovery verdict: 0 None, 1 Reset, 2 Reboot, 3 Drain P2P, 4 Drain and Reset (NVML codes)",
  remapped_rows_correctable: 'rows remapped after correctable errors (A100+), count',
  remapped_rows_uncorrectable: 'rows remapped after uncorrectable errors (A100+), count',
  remapped_rows_pending: '1 when a row remap waits for the next GPU reset',
  remapped_rows_failure: '1 when a row remap has failed (RMA criterion)',
  retired_pages_sbe: 'pages retired after single-bit errors (Pascal/Volta), count',
  retired_pages_dbe: 'pages retired after double-bit errors (Pascal/Volta), count',
  retired_pages_pending: '1 when a page retirement waits for the next driver reload / reset',
  temp_headroom_c: 'margin to the slowdown temperature (TLIMIT), °C; ≤ 0 = at or past slowdown',
  temp_slowdown_c: 'slowdown temperature of the board, °C',
  temp_shutdown_c: 'shutdown temperature of the board, °C',
  temp_max_operating_c: 'maximum operating temperature of the board, °C',
  power_default_limit_w: 'default power limit of the board, W',
  power_min_limit_w: 'lowest settable power limit, W',
  power_max_limit_w: 'highest settable power limit, W',
  fabric_state: 'NVLink fabric registration: 0 Not Supported, 1 Not Started, 2 In Progress, 3 Completed',
  fabric_status: 'NVLink fabric registration result: 0 Success, 1 any error',
  clocks_event_sw_power_cap_us: 'cumulative SW power-cap clocks-event time, µs',
  clocks_event_sw_thermal_us: 'cumulative SW thermal slowdown time, µs',
  clocks_event_hw_thermal_us: 'cumulative HW thermal slowdown time, µs',
  clocks_event_hw_power_brake_us: 'cumulative HW power-brake slowdown time, µs',
  clocks_event_sync_boost_us: 'cumulative sync-boost clocks-event time, µs',
  nvlink_crc_flit_errors: 'NVLink CRC flit errors, total count (DCGM)',
  nvlink_crc_data_errors: 'NVLink CRC data errors, total count (DCGM)',
  nvlink_replay_errors: 'NVLink replay errors, total count (DCGM)',
  nvlink_recovery_errors: 'NVLink recovery errors, total count (DCGM)',
} as const;

export type CanonicalField = keyof typeof FIELD_DOCS;

/** Tags that go to InfluxDB as tags (everything else in `tags` is kept too, but these are the documented ones). */
export const IDENTITY_TAGS = ['host', 'gpu_uuid', 'gpu_index', 'model', 'pci_bus_id'] as const;

/** Milliseconds (possibly fractional) → ns decimal string, exact to the microsecond. */
export function msToNs(ms: number): string {
  const whole = Math.floor(ms);
  const frac = Math.round((ms - whole) * 1_000_000);
  return (BigInt(whole) * 1_000_000n + BigInt(frac)).toString();
}
