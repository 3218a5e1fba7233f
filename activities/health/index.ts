/** Health enrichment: features, hard-fault rules, ONNX/HTTP scorers and `gpu_health` lines. */
export { featurize, newBaseline, FEATURE_NAMES, N_FEATURES, type DeviceBaseline, type FeaturizeResult } from './features.ts';
export { hardFaults, xidReason, XID_NAMES, type HardFaultResult } from './hard-faults.ts';
export { classify, BUNDLED_META, ModelMismatchError, type HealthResult, type ModelMeta } from './classify.ts';
export { ScorerClosedError, type HealthScorer, type HealthScoreResult } from './scorer.ts';
export { createOnnxScorer, DEFAULT_MODEL_PATH, type OnnxScorerOptions } from './onnx-scorer.ts';
export { createHttpScorer, HttpScorerError, type HttpScorerOptions } from './http-scorer.ts';
export { healthLinesFor, HEALTH_MEASUREMENT } from './line-protocol.ts';
export { assessBatch, assessPoint, newDeviceHealthState, peerScores, type DeviceHealthState, type DeviceVerdict } from './device-health.ts';
