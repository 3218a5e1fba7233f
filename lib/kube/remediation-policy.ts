/**
 * The automatic-quarantine policy and its circuit breaker, as a pure decision (workflow-safe:
 * no I/O; the fleet counts come from an activity that reads the API server).
 *
 * Invariant: policy never holds more than `maxNodes` nodes, nor more than `maxPercent` % of the
 * fleet, quarantined at once. A fleet-wide fault (a bad driver roll-out, a cooling failure)
 * looks like many faulty GPUs at the same moment — exactly when emptying nodes by machine would
 * take the whole service down — so beyond the cap a human is paged instead, told why.
 * Nodes quarantined by hand count too: the cap is about capacity, not about who acted.
 */
import { recommendationKind, type RecommendationKind } from './recommend.ts';

export type AutoRemediationMode = 'off' | 'shadow' | 'on';

export interface AutoRemediationPolicy {
  mode: AutoRemediationMode;
  /** Recommended-action kinds that trigger quarantine. */
  actions: RecommendationKind[];
  maxNodes: number;
  maxPercent: number;
}

export interface FleetQuarantineState {
  /** Nodes in the fleet (all nodes the API lists). */
  fleetSize: number;
  /** Nodes currently quarantined (carrying the gpu-unhealthy label). */
  quarantined: string[];
}

export type AutoDecision =
  | { decision: 'skip'; reason: string }
  | { decision: 'already'; reason: string }
  | { decision: 'quarantine'; reason: string }
  | { decision: 'shadow'; reason: string }
  | { decision: 'page'; reason: string };

/** Is this incident one the policy acts on at all (before asking the API anything)? null = yes; else the skip, with its reason. */
export function autoApplies(
  policy: AutoRemediationPolicy,
  incident: { severity: string; recommendedAction?: string; node?: string },
): AutoDecision | null {
  if (policy.mode === 'off') return { decision: 'skip', reason: 'automatic remediation is off' };
  if (incident.severity !== 'critical') return { decision: 'skip', reason: `severity ${incident.severity} is not critical` };
  const kind = recommendationKind(incident.recommendedAction);
  if (!kind) return { decision: 'skip', reason: 'the catalog recommends no node action' };
  if (!policy.actions.includes(kind))
    return { decision: 'skip', reason: `recommended action "${kind}" is not in REMEDIATION_AUTO_ACTIONS` };
  if (!incident.node) return { decision: 'skip', reason: 'the device maps to no Kubernetes node' };
  return null;
}

/** Largest number of quarantined nodes the breaker allows for a fleet of this size. */
export function quarantineCap(policy: Pick<AutoRemediationPolicy, 'maxNodes' | 'maxPercent'>, fleetSize: number): number {
  return Math.max(0, Math.min(policy.maxNodes, Math.floor((fleetSize * policy.maxPercent) / 100)));
}

/** The decision for `node`, given the fleet as the API shows it now. */
export function decideAutoQuarantine(policy: AutoRemediationPolicy, node: string, fleet: FleetQuarantineState): AutoDecision {
  if (fleet.quarantined.includes(node)) return { decision: 'already', reason: `node ${node} is already quarantined` };
  const cap = quarantineCap(policy, fleet.fleetSize);
  const after = fleet.quarantined.length + 1;
  if (after > cap) {
    const list = fleet.quarantined.slice(0, 5).join(', ') + (fleet.quarantined.length > 5 ? `, +${fleet.quarantined.length - 5} more` : '');
    return {
      decision: 'page',
      reason:
        `circuit breaker open: ${fleet.quarantined.length} of ${fleet.fleetSize} nodes already quarantined` +
        `${fleet.quarantined.length ? ` (${list})` : ''}; the cap is ${cap} (REMEDIATION_MAX_NODES=${policy.maxNodes}, ` +
        `REMEDIATION_MAX_PERCENT=${policy.maxPercent} %) — a human decides`,
    };
  }
  const reason = `${after} of ${fleet.fleetSize} nodes would be quarantined (cap ${cap})`;
  return policy.mode === 'shadow'
    ? { decision: 'shadow', reason: `shadow mode: would quarantine ${node}; ${reason}` }
    : { decision: 'quarantine', reason };
}
