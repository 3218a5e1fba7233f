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
