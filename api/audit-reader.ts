/**
 * The audit endpoint's view of the ledger: RPC URL + contract addresses, NO private key.
 * Addresses come from the registry (JetStream KV, re-read per audit so a contract deployed
 * after the API started is seen), LEDGER_ADDRESS / LEDGER_PREVIOUS_ADDRESSES, and the
 * local ledger.json. The API never deploys.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import type { NatsConnection } from 'nats';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import type { AlertState } from '../lib/alerts/types.ts';
import { parseEscalationPolicies, policyForSeverity, type EscalationPolicy } from '../lib/alerts/policy.ts';
import { connectNats } from '../lib/stream/jetstream.ts';
import { resolveNatsUrl } from '../infra/stack/endpoints.ts';
import { loadLedgerAddress, type LedgerDeployment } from '../activities/ledger/ledger-deployment.ts';
import { KvLedgerRegistry, type LedgerRegistry } from '../activities/ledger/ledger-registry.ts';
import { LedgerReader, rpcChainId } from '../activities/ledger/ledger-reader.ts';
import { auditAlert, type AuditResult } from '../activities/ledger/ledger-audit.ts';
import { KvReceiptStore } from '../activities/ledger/receipt-issuer.ts';
import type { LedgerReceipt } from '../lib/ledger/receipt.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The audit answer plus the stored standalone receipts of the ack / resolve (for `telemetry-stack verify`). */
export type AuditAnswer = AuditResult & { receipts: LedgerReceipt[] };

export interface AuditReaderHandle {
  auditAlert(input: { alertId: string; state?: AlertState }): Promise<AuditAnswer | null>;
  /** Policy of the operational alert a mismatch raises (the critical one of the policy file). */
  opsPolicy: EscalationPolicy;
  close(): void;
}

/** Every version known from config, file and registry for this chain. */
async function knownDeployments(cfg: Config, chainId: number, registry: LedgerRegistry | undefined): Promise<LedgerDeployment[]> {
  const out: LedgerDeployment[] = [];
  if (registry) out.push(...(await registry.versions(chainId)));
  const saved = await loadLedgerAddress(resolve(cfg.DATA_DIR), chainId);
  if (saved) out.push(saved);
  const pinned = [cfg.LEDGER_ADDRESS, ...(cfg.LEDGER_PREVIOUS_ADDRESSES?.split(',') ?? [])].filter((a): a is string => Boolean(a));
  for (const address of pinned) {
    if (!out.some((d) => d.address.toLowerCase() === address.toLowerCase())) out.push({ address, chainId, deployTx: '', deployBlock: 0 });
  }
  return out;
}

function loadOpsPolicy(cfg: Config): EscalationPolicy {
  // Same file and default as the workers' loadPolicies (workers/* are entry points, not imported).
  const file = cfg.ESCALATION_POLICY_FILE ?? resolve(REPO_ROOT, 'infra/config/escalation-policy.example.json');
  return policyForSeverity(parseEscalationPolicies(JSON.parse(readFileSync(file, 'utf8'))), 'critical');
}

/**
 * Builds the read-only audit reader, or undefined when no ledger version is known and the
 * registry is unreachable (the endpoint then answers 404). Throws LedgerUnavailableError when
 * the node is down.
 */
export async function readAuditFromChain(cfg: Config, rpcUrl: string, logger: Logger, opts: { natsUrl?: string } = {}): Promise<AuditReaderHandle | undefined> {
  const chainId = await rpcChainId(rpcUrl);
  let nc: NatsConnection | undefined;
  let registry: LedgerRegistry | undefined;
  let receiptStore: KvReceiptStore | undefined;
  try {
    nc = await connectNats(opts.natsUrl ?? resolveNatsUrl(cfg), 'telemetry-api-audit');
    registry = await KvLedgerRegistry.open(nc, cfg.STREAM_REPLICAS);
    receiptStore = await KvReceiptStore.open(nc, cfg.STREAM_REPLICAS);
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'ledger registry unreachable: the audit reads only LEDGER_ADDRESS / ledger.json');
  }
  const deployments = await knownDeployments(cfg, chainId, registry);
  // With the registry reachable the reader is built even before the first deploy: versions are re-read per audit.
  if (deployments.length === 0 && !registry) {
    await nc?.close();
    return undefined;
  }
  const reader = await LedgerReader.connect({ rpcUrl, chainId, deployments });
  const opsPolicy = loadOpsPolicy(cfg);
  return {
    opsPolicy,
    async auditAlert(input) {
      reader.setDeployments(await knownDeployments(cfg, chainId, registry));
      const result = await auditAlert(reader, input);
      if (!result) return null;
      const receipts: LedgerReceipt[] = [];
      for (const kind of ['acknowledged', 'resolved'] as const) {
        const r = await receiptStore?.get(result.ledgerId, kind);
        if (r) receipts.push(r);
      }
      return { ...result, receipts };
    },
    close() {
      reader.close();
      void nc?.close();
    },
  };
}
