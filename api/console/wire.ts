/**
 * The console's wire contract: the response schemas of /v1/console/* (served
 * in the OpenAPI document and enforced by fastify's serializer) and the types
 * the browser code reads them as (`z.infer`, imported type-only by console/src,
 * so nothing of this file reaches the bundle). One owner: the routes and the
 * pages cannot drift apart. Imports zod only, so the console's own type check
 * (DOM, no Node types) can follow it.
 */
import { z } from 'zod';

export const HEALTH_CLASSES = ['healthy', 'degraded', 'critical', 'unknown'] as const;
export type HealthClassOrUnknown = (typeof HEALTH_CLASSES)[number];
export const TIMELINE_KINDS = ['raised', 'page', 'level', 'ack', 'snooze', 'silence', 'recovered', 'resolve', 'ledger', 'other'] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

const nullableNum = z.number().nullable();

export const fleetSchema = z.object({
  rows: z.array(
    z.object({
      device: z.string(),
      model: z.string().nullable(),
      host: z.string().nullable(),
      health: z.enum(HEALTH_CLASSES),
      score: nullableNum,
      reasons: z.array(z.string()),
      lastSeen: z.string(),
      stale: z.boolean(),
      openIncidents: z.number().int(),
      utilGpuPct: nullableNum,
    }),
  ),
  total: z.number().int(),
  truncated: z.boolean(),
  counts: z.object({ healthy: z.number().int(), degraded: z.number().int(), critical: z.number().int(), unknown: z.number().int() }),
  kpis: z.object({
    devices: z.number().int(),
    utilisationPct: nullableNum,
    availabilityPct: nullableNum,
    pointsPerSecond: nullableNum.describe('points written by the collectors per second, between two polls'),
    mtbiS: nullableNum.describe('mean time between incidents, s'),
    mttrS: nullableNum.describe('mean time to resolve, s'),
    mttaS: nullableNum.describe('mean time to acknowledge, s'),
    openIncidents: z.number().int(),
  }),
  generatedAt: z.string(),
});
const pointSchema = z.object({ time: z.string(), value: z.number() });
export const historySchema = z.object({
  device: z.string(),
  everySeconds: z.number().int().describe('aggregateWindow width (mean)'),
  from: z.string(),
  to: z.string(),
  series: z.array(z.object({ field: z.string(), points: z.array(pointSchema) })),
});
export const healthSchema = z.object({
  device: z.string(),
  segments: z.array(z.object({ from: z.string(), to: z.string(), class: z.string(), maxScore: z.number().nullable(), reasons: z.array(z.string()) })),
  latest: z.object({ time: z.string(), class: z.string(), score: z.number().nullable(), reasons: z.array(z.string()) }).nullable(),
  signals: z.array(z.object({ field: z.string(), value: z.number(), time: z.string() })),
});
export const timelineSchema = z.object({
  id: z.string(),
  device: z.string(),
  rule: z.string(),
  severity: z.string(),
  status: z.string(),
  level: z.number().int(),
  summary: z.string(),
  paged: z.array(z.string()),
  ack: z.object({ by: z.string(), via: z.string(), at: z.string(), txHash: z.string().nullable() }).nullable(),
  temporalUrl: z.string().nullable(),
  entries: z.array(z.object({ at: z.string(), kind: z.enum(TIMELINE_KINDS), text: z.string(), txHash: z.string().optional(), block: z.number().int().optional() })),
});
/** Open incidents whose state (who is paged) one list request reads. */
export const MAX_PAGED_LOOKUPS = 50;
export const incidentRowSchema = z.object({
  id: z.string(),
  device: z.string().nullable(),
  rule: z.string().nullable(),
  severity: z.string().nullable(),
  status: z.string().nullable(),
  level: z.number().int().nullable(),
  startedAt: z.string().nullable(),
  closedAt: z.string().nullable(),
  workflowStatus: z.string(),
  open: z.boolean(),
  paged: z.array(z.string()).nullable().describe('null: not looked up (closed, or beyond the bound)'),
  ackBy: z.string().nullable(),
});
export const pipelineSchema = z.object({
  partitions: z.array(
    z.object({
      partition: z.number().int(),
      workflowId: z.string(),
      status: z.string(),
      stats: z
        .looseObject({
          lag: z.number(),
          pointsWritten: z.number(),
          dlq: z.number(),
          batches: z.number().optional(),
          lastBatchAt: z.string().optional(),
          paused: z.boolean().optional(),
          lastError: z.string().optional(),
        })
        .nullable(),
      error: z.string().optional(),
      temporalUrl: z.string().nullable(),
    }),
  ),
  stream: z.object({ messages: z.number(), bytes: z.number() }).nullable(),
  dlq: z.object({ messages: z.number(), bytes: z.number() }).nullable(),
  workers: z.array(z.object({ taskQueue: z.string(), pollers: z.number().int(), lastAccess: z.string().nullable() })),
  pointsWritten: z.number(),
  pointsPerSecond: nullableNum,
  temporalUi: z.string().nullable(),
  generatedAt: z.string(),
});


export type FleetAnswer = z.infer<typeof fleetSchema>;
export type FleetRowView = FleetAnswer['rows'][number];
export type HistoryAnswer = z.infer<typeof historySchema>;
export type HealthAnswer = z.infer<typeof healthSchema>;
export type TimelineAnswer = z.infer<typeof timelineSchema>;
export type IncidentRow = z.infer<typeof incidentRowSchema>;
export type PipelineAnswer = z.infer<typeof pipelineSchema>;
