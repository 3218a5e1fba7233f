/** Wire types of the pipeline heartbeat (workflow ↔ activity), JSON-serialisable. */

/** What the heartbeat remembers between checks. */
export interface HeartbeatMemory {
  /** Heartbeat rules with an open alert. */
  open: string[];
  /** Per partition: the backlog last seen and since when nothing was consumed while it waited (ms). */
  partitions: Record<string, { pending: number; delivered: number; stuckSinceMs?: number }>;
}

export interface CheckPipelineInput {
  memory: HeartbeatMemory;
}

export interface CheckPipelineResult {
  memory: HeartbeatMemory;
  /** One line per finding, for the Temporal UI. */
  details: string;
  firing: string[];
}

export interface HeartbeatActivities {
  checkPipeline(input: CheckPipelineInput): Promise<CheckPipelineResult>;
}
