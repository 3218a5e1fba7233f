/**
 * What the catalog's recommended action (lib/health/xid-catalog.json, carried on the triage
 * card) asks of the node. The catalog keeps actions as prose from NVIDIA's documents, so the
 * kinds are recognised by their verbs: "reset" / "reboot" need the GPU idle (quarantine: no new
 * work lands), "Drain the node" needs the node emptied. "Restart the application" and "No
 * action" ask nothing of the node.
 */
export type RemediationAction = 'quarantine' | 'drain' | 'release';
/** The catalog's asks, as REMEDIATION_AUTO_ACTIONS names them. */
export type RecommendationKind = 'reset' | 'reboot' | 'drain';

export function recommendationKind(recommendedAction: string | undefined): RecommendationKind | undefined {
  if (!recommendedAction) return undefined;
  const t = recommendedAction.toLowerCase();
  if (/\bdrain the node\b/.test(t)) return 'drain';
  if (/\breboot\b/.test(t)) return 'reboot';
  if (/\breset\b/.test(t)) return 'reset';
  if (/\bdrain\b/.test(t)) return 'drain';
  return undefined;
}

/** The button a page preselects (primary style): drain for "drain the node", quarantine for a reset or reboot. */
export function recommendedRemediation(recommendedAction: string | undefined): RemediationAction | undefined {
  const kind = recommendationKind(recommendedAction);
  if (!kind) return undefined;
  return kind === 'drain' && /\bdrain the node\b/i.test(recommendedAction ?? '') ? 'drain' : 'quarantine';
}
