/** Every workflow, re-exported for the workers' bundle. */
export * from './partition-collector.ts';
export * from './alert-escalation.ts';
export * from './pipeline-heartbeat.ts';
export * from './node-remediation.ts';
export * from './remediation-policy.ts';
