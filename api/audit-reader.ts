/** Read-only ledger access for the audit endpoint (no deploys from the API). */
import { resolve } from 'node:path';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import { createLedgerActivities, loadLedgerAddress } from '../activities/ledger/ledger-activities.ts';
import { LedgerClient } from '../activities/ledger/ledger-client.ts';
import { chainPrivateKey } from '../workers/alerts-worker.ts';

export async function readAuditFromChain(cfg: Config, rpcUrl: string, logger: Logger) {
  const saved = cfg.LEDGER_ADDRESS ? { address: cfg.LEDGER_ADDRESS, deployBlock: 0, chainId: undefined } : await loadLedgerAddress(resolve(cfg.DATA_DIR));
  const privateKey = chainPrivateKey(cfg);
  if (!saved || !privateKey) return undefined;
  const ledger = await LedgerClient.connect({ rpcUrl, privateKey, address: saved.address, fromBlock: saved.deployBlock ?? 0, logger });
  const acts = createLedgerActivities({ ledger, logger });
  return { readAlertRecord: acts.readAlertRecord, close: () => ledger.close() };
}
