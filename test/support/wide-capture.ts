/**
 * The 212-column `nvidia-smi --query-gpu` capture builder, moved to
 * lib/sample/wide-capture.ts (the CLI's `bench ingest --fields wide` uses it
 * too); re-exported here for the tests. WIDE_FIXTURE is the real capture under
 * test/fixtures that lib/sample's template is a byte-for-byte copy of.
 */
import { join } from 'node:path';
import { REPO } from './processes.ts';

export { WIDE_COLUMNS, WIDE_TEMPLATE, gpuUuid, wideCaptureCsv, wideCaptureLines } from '../../lib/sample/wide-capture.ts';

export const WIDE_FIXTURE = join(REPO, 'test/fixtures/parse/real/nvidia_gpu_exporter__rtx-2080-super__595.71.05__load__query-gpu.csv');
