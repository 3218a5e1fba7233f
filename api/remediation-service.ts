/**
 * Node remediation for the API and the Slack endpoint: resolves an incident to its node and GPU
 * (the alert's `node`, else the node map over its device and host), then starts the
 * `nodeRemediation` workflow through the one starter (activities/remediation/remediation-starter.ts).
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { AlertState } from '../lib/alerts/types.ts';
import type { NodeMap } from '../lib/kube/node-map.ts';
import type { RemediationRecord, RemediationRequest } from '../lib/kube/remediation-types.ts';
import { createRemediationStarter, type StartedRemediation } from '../activities/remediation/remediation-starter.ts';
import { remediationProgressQuery } from '../workflows/remediation-messages.ts';
import { remediationMetrics } from '../activities/remediation/remediation-metrics.ts';
import type { AlertsService } from './services.ts';

export interface RemediationDefaults {
  drainTimeoutS: number;
  gracePeriodS?: number;
  releaseOnRecovery: boolean;
}

/** A node action asked on an incident that cannot be acted on (unknown alert, or no node for its device). */
export class RemediationTargetError extends Error {
  override name = 'RemediationTargetError';
  constructor(
    message: string,
    readonly problem: 'unknown_alert' | 'no_node',
    readonly alertId: string,
  ) {
    super(message);
  }
}

export interface RemediationService {
  /**
   * A node action on an incident (a page button): the incident names node and GPU, its episode is
   * the idempotency key (a double click joins the running request). Start only. Throws
   * RemediationTargetError (counted) when the incident is unknown or its device has no node.
   */
  requestForAlert(input: {
    alertId: string;
    action: RemediationRequest['action'];
    by: string;
    via: RemediationRequest['via'];
  }): Promise<StartedRemediation>;
  /** Starts (or joins, same key) the action; waits up to `waitMs` for its record. */
  request(req: RemediationRequest, key: string, waitMs?: number): Promise<StartedRemediation>;
  /** The incident's node, GPU and episode key; undefined when there is no such alert. */
  forAlert(alertId: string): Promise<{ node?: string; gpu: string; episode: string } | undefined>;
  /** A remediation's record (final, or its progress while it runs); undefined when unknown. */
  get(workflowId: string): Promise<{ running: boolean; record: RemediationRecord } | undefined>;
  /** Device → node for the API's device records. */
  nodeFor(d: { device: string; host?: string }): string | undefined;
}

export function createRemediationService(o: {
  client: Client;
  alerts: AlertsService;
  nodeMap: NodeMap;
  defaults: RemediationDefaults;
  taskQueue?: string;
}): RemediationService {
  const start = createRemediationStarter({ client: o.client, taskQueue: o.taskQueue });
  const svc: RemediationService = {
    nodeFor: (d) => o.nodeMap.nodeFor(d),
    async requestForAlert({ alertId, action, by, via }) {
      const inc = await svc.forAlert(alertId);
      if (!inc) {
        remediationMetrics.requests.inc({ via, result: 'unknown_alert' });
        throw new RemediationTargetError(`node ${action} asked on unknown alert ${alertId}`, 'unknown_alert', alertId);
      }
      if (!inc.node) {
        remediationMetrics.requests.inc({ via, result: 'no_node' });
        throw new RemediationTargetError(
          `node ${action} asked on ${alertId}, but its device ${inc.gpu} maps to no Kubernetes node (KUBE_NODE_MAP or the host tag)`,
          'no_node',
          alertId,
        );
      }
      return await svc.request({ action, node: inc.node, gpu: inc.gpu, alertId, by, via }, inc.episode);
    },
    async request(req, key, waitMs = 0) {
      const full: RemediationRequest = {
        ...req,
        drainTimeoutS: req.drainTimeoutS ?? o.defaults.drainTimeoutS,
        gracePeriodS: req.gracePeriodS ?? o.defaults.gracePeriodS,
        ...(req.action !== 'release' && req.alertId && o.defaults.releaseOnRecovery ? { releaseOnRecovery: true } : {}),
      };
      const started = await start(full, key, { waitMs });
      remediationMetrics.requests.inc({ via: req.via, result: 'started' });
      return started;
    },
    async forAlert(alertId) {
      const state = (await o.alerts.get(alertId)) as AlertState | undefined;
      if (!state?.alert) return undefined;
      const a = state.alert;
      return { node: a.node ?? o.nodeMap.nodeFor({ device: a.device, host: a.host }), gpu: a.device, episode: `${a.alertId}@${a.firedAt}` };
    },
    async get(workflowId) {
      const h = o.client.workflow.getHandle(workflowId);
      try {
        const d = await h.describe();
        if (d.type !== 'nodeRemediation') return undefined;
        if (d.status.name === 'RUNNING') return { running: true, record: await h.query(remediationProgressQuery) };
        return { running: false, record: (await h.result()) as RemediationRecord };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      }
    },
  };
  return svc;
}
