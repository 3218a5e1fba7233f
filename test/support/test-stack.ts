/**
 * A complete, isolated stack for one test file: real Temporal dev server
 * (headless), nats-server -js, influxd and anvil on free ports with data in a
 * temp dir. Starting one takes ~2 s, so every integration file gets its own
 * and no state leaks between files. (The implementation lives in
 * infra/stack/isolated-stack.ts, shared with `telemetry-stack bench`.)
 */
import type { ComponentName } from '../../infra/stack/stack.ts';
import { isolatedProcessEnv, startIsolatedStack, type IsolatedStack } from '../../infra/stack/isolated-stack.ts';

export type TestStack = IsolatedStack;

export function startTestStack(opts: { components?: ComponentName[]; env?: Record<string, string>; keepData?: boolean } = {}): Promise<TestStack> {
  return startIsolatedStack({ ...opts, tempPrefix: 'telemetry-test-' });
}

/** The parent's env minus settings that would point a test at the developer's own stack. */
export const filteredProcessEnv = isolatedProcessEnv;
