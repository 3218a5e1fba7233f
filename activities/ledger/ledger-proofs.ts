/**
 * Wires the proof side of the ledger for the alerts worker: the receipt issuer (every ack
 * and resolve gets a standalone receipt in KV `ledger_receipts`) and, when witnesses are
 * configured, the anchorer (signed + co-signed checkpoints in the `LEDGER_ANCHORS` stream).
 */
import { Wallet } from 'ethers';
import type { NatsConnection } from 'nats';
import type { Logger } from '../../lib/logger.ts';
import type { NoteSigner } from '../../lib/ledger/signed-note.ts';
import { join, resolve } from 'node:path';
import type { Config } from '../../lib/config.ts';
import { resolveSignerKey } from '../../lib/ledger/note-keys.ts';
import { SIG_TYPE_ED25519 } from '../../lib/ledger/signed-note.ts';
import { loadLedgerAddress, type LedgerDeployment } from './ledger-deployment.ts';
import type { LedgerClient } from './ledger-client.ts';
import { LedgerReader } from './ledger-reader.ts';
import { LedgerLog } from './ledger-log.ts';
import { KvReceiptStore, ReceiptIssuer } from './receipt-issuer.ts';
import { LedgerAnchorer, ensureAnchorStream } from './ledger-anchorer.ts';

export interface LedgerProofsInput {
  rpcUrl: string;
  deployment: LedgerDeployment;
  /** The recorder key: receipts are signed by the account the contract logs as recorder. */
  privateKey: string;
  nc: NatsConnection;
  replicas: number;
  logger: Logger;
  anchoring?: { signer: NoteSigner; witnessUrls: string[]; everyWrites: number; intervalMs: number };
}

export interface LedgerProofs {
  receipts: ReceiptIssuer;
  onWrite: () => void;
  anchorer?: LedgerAnchorer;
  close(): void;
}

export async function startLedgerProofs(i: LedgerProofsInput): Promise<LedgerProofs> {
  const reader = await LedgerReader.connect({ rpcUrl: i.rpcUrl, chainId: i.deployment.chainId, deployments: [i.deployment] });
  const log = new LedgerLog(reader, i.deployment);
  const store = await KvReceiptStore.open(i.nc, i.replicas);
  // Signing only: no provider needed (and none that could send with this key).
  const wallet = new Wallet(i.privateKey);
  const receipts = new ReceiptIssuer({ reader, log, wallet, contract: i.deployment.address, store });
  let anchorer: LedgerAnchorer | undefined;
  if (i.anchoring && i.anchoring.witnessUrls.length > 0) {
    const jsm = await i.nc.jetstreamManager();
    await ensureAnchorStream(jsm, i.replicas);
    anchorer = new LedgerAnchorer({
      log,
      js: i.nc.jetstream(),
      jsm,
      chainId: i.deployment.chainId,
      contract: i.deployment.address,
      signer: i.anchoring.signer,
      witnessUrls: i.anchoring.witnessUrls,
      everyWrites: i.anchoring.everyWrites,
      intervalMs: i.anchoring.intervalMs,
      logger: i.logger,
    });
    anchorer.start();
  } else {
    i.logger.warn('no LEDGER_WITNESS_URLS: ledger checkpoints are not anchored outside the chain');
  }
  return {
    receipts,
    onWrite: () => anchorer?.noteWrite(),
    anchorer,
    close() {
      anchorer?.stop();
      reader.close();
    },
  };
}

/** startLedgerProofs from the worker's config (keys: lib/config.ts LEDGER_CHECKPOINT_KEY…, LEDGER_WITNESS_URLS). */
export async function ledgerProofsFromConfig(
  cfg: Config,
  i: { rpcUrl: string; ledger: Pick<LedgerClient, 'address' | 'chainId'>; privateKey: string; nc: NatsConnection; logger: Logger },
): Promise<LedgerProofs> {
  const saved = await loadLedgerAddress(resolve(cfg.DATA_DIR), i.ledger.chainId);
  const deployment: LedgerDeployment =
    saved?.address.toLowerCase() === i.ledger.address.toLowerCase() ? saved : { address: i.ledger.address, chainId: i.ledger.chainId, deployTx: '', deployBlock: 0 };
  const witnessUrls = cfg.LEDGER_WITNESS_URLS?.split(',') ?? [];
  const anchoring =
    witnessUrls.length > 0
      ? {
          signer: resolveSignerKey({
            key: cfg.LEDGER_CHECKPOINT_KEY,
            file: cfg.LEDGER_CHECKPOINT_KEY_FILE,
            devFile: join(resolve(cfg.DATA_DIR), 'ledger-checkpoint.key'),
            devName: 'ledger.telemetry-stack.local',
            type: SIG_TYPE_ED25519,
            production: cfg.NODE_ENV === 'production',
          }),
          witnessUrls,
          everyWrites: cfg.LEDGER_ANCHOR_EVERY_WRITES,
          intervalMs: cfg.LEDGER_ANCHOR_INTERVAL_S * 1_000,
        }
      : undefined;
  return startLedgerProofs({ rpcUrl: i.rpcUrl, deployment, privateKey: i.privateKey, nc: i.nc, replicas: cfg.STREAM_REPLICAS, logger: i.logger, anchoring });
}
