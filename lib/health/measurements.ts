/**
 * InfluxDB measurements the health stage writes, named once: the scorer
 * (activities/health/line-protocol.ts) writes them, the API (lib/influx/query.ts) reads them.
 */

/** Paging model's verdicts: tags device + identity tags; fields score, class, reasons. */
export const HEALTH_MEASUREMENT = 'gpu_health';

/**
 * Shadow model's verdicts (activities/health/shadow-scorer.ts): tags device + identity tags +
 * `shadow_model` (version); fields class, score, reasons, primary (the paging model's class).
 */
export const HEALTH_SHADOW_MEASUREMENT = 'health_shadow';

/** Tag holding the shadow model's version (`model` is taken: it is the GPU model name). */
export const SHADOW_MODEL_TAG = 'shadow_model';
