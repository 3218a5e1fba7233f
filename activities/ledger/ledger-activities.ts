/**
 * Temporal activities of the acknowledgement ledger, built over an injected LedgerClient.
 *
 * Every activity is idempotent (the client checks the chain before writing and maps a
 * replay to the original tx with `alreadyRecorded: true`), so the default retry policy is
 * safe. Failures arrive as ApplicationFailure: `LedgerRevert`, `LedgerConflict`,
 * `LedgerBadInput`, `LedgerConfig` are non-retryable; `LedgerUnavailable` is retryable.
 * Suggested workflow options: startToCloseTimeout ≥ '45s' (the client waits up to 30 s for a
 * receipt, plus a few RPCs), retry initialInterval '1s', backoffCoefficient 2, maximumInterval '30s'.
 *
 * Hazard — alert ids: the chain records an id ONCE. If the workflow reuses
 * `alert-<device>-<rule>` for a later episode, pass an occurrence-unique alertId to these
 * activities (e.g. `${alertId}@${firedAt}`), else the second episode fails with LedgerConflict.
 *
 * With no ledger configured (`ledger: undefined`) every activity returns null: the stack
 * runs without a chain.
 */
import type { AckChannel, ChainReceipt, Severity } from '../../lib/alerts/types.ts';
import type { Logger } from '../../lib/logger.ts';
import type { LedgerAlertRecord, LedgerClient, LedgerEventRef } from './ledger-client.ts';
import { LedgerConfigError, LedgerRevertError, toLedgerFailure } from './ledger-errors.ts';
import type { ReceiptIssuer } from './receipt-issuer.ts';
import { ledgerMetrics } from './ledger-metrics.ts';
import { ledgerAlertId } from './ledger-ids.ts';

export { persistLedgerAddress, loadLedgerAddress, ensureLedger } from './ledger-deployment.ts';
export type { LedgerDeployment, EnsureLedgerInput, EnsureLedgerResult } from './ledger-deployment.ts';

export interface RecordAlertOnChainInput {
  /** Unique per alert occurrence (see ledgerAlertId). */
  alertId: string;
  device: string;
  severity: Severity;
  /** When the condition started, Unix ms (Date.parse(alert.firedAt)). */
  raisedAtMs: number;
}

export interface RecordAckOnChainInput {
  alertId: string;
  /** Responder identity; stored as keccak256 only. */
  responder: string;
  via: AckChannel;
  /** Ack time, Unix ms. Must be fixed in the workflow (not Date.now() in the activity) so retries match. */
  ackedAtMs: number;
  /**
   * The alert itself, so the ack still lands when recordAlertOnChain never ran (ledger
   * enabled mid-incident, or its activity failed): on UnknownAlert the alert is recorded
   * first, then acknowledged.
   */
  alert?: Omit<RecordAlertOnChainInput, 'alertId'>;
}

export interface RecordResolveOnChainInput {
  alertId: string;
  by: string;
  reason: string;
  resolvedAtMs: number;
  /** As for acks: lets a resolve land on an alert that was never recorded. */
  alert?: Omit<RecordAlertOnChainInput, 'alertId'>;
}

export interface ReadAlertRecordInput {
  alertId: string;
}

/** What the API's audit endpoint returns; JSON-safe (no bigint). */
export interface ReadAlertRecordResult {
  alertId: string;
  /** keccak256(alertId): the on-chain key. */
  ledgerId: string;
  chainId: number;
  contract: string;
  /** null when the alert is not on the ledger. */
  record: LedgerAlertRecord | null;
  /** The tx and block of each write, in chain order. */
  events: LedgerEventRef[];
  /** Chain head at read time, for anchoring the answer. */
  head: { blockNumber: number; blockHash: string; alertCount: number; digest: string };
}

export interface LedgerActivitiesDeps {
  ledger: LedgerClient | undefined;
  logger: Logger;
  /** Issues the standalone receipt of every ack and resolve (absent: none are issued). */
  receipts?: Pick<ReceiptIssuer, 'issue'>;
  /** Told after every ack/resolve write (the anchorer counts them towards the next checkpoint). */
  onWrite?: () => void;
}

export interface LedgerActivities {
  /** Records a fired alert on the ledger. Null when no ledger is configured. */
  recordAlertOnChain(input: RecordAlertOnChainInput): Promise<ChainReceipt | null>;
  /** Records the (single) acknowledgement of an alert. Null when no ledger is configured. */
  recordAckOnChain(input: RecordAckOnChainInput): Promise<ChainReceipt | null>;
  /** Records the resolution of an alert. Null when no ledger is configured. */
  recordResolveOnChain(input: RecordResolveOnChainInput): Promise<ChainReceipt | null>;
  /** Reads an alert's on-chain record with the tx/block of each event. Null when no ledger. */
  readAlertRecord(input: ReadAlertRecordInput): Promise<ReadAlertRecordResult | null>;
}

function isUnknownAlert(err: unknown): boolean {
  return err instanceof LedgerRevertError && err.errorName === 'UnknownAlert';
}

export function createLedgerActivities({ ledger, logger, receipts, onWrite }: LedgerActivitiesDeps): LedgerActivities {
  const log = logger.child({ component: 'ledger' });

  /** Runs a ledger call, logs the outcome, converts errors to ApplicationFailure. */
  async function run<T extends ChainReceipt>(what: string, alertId: string, fn: (l: LedgerClient) => Promise<T>): Promise<T | null> {
    if (!ledger) return null;
    const t0 = performance.now();
    try {
      const receipt = await fn(ledger);
      log.info(
        { alertId, tx: receipt.txHash, block: receipt.blockNumber, alreadyRecorded: receipt.alreadyRecorded, ms: Math.round(performance.now() - t0) },
        `${what} on chain`,
      );
      return receipt;
    } catch (err) {
      const failure = toLedgerFailure(err);
      log.warn({ alertId, type: failure.type, retryable: !failure.nonRetryable, err: failure.message }, `${what} failed`);
      throw failure;
    }
  }

  /**
   * The receipt follows the write. A transient failure fails the activity (the retry finds
   * the write already on chain and re-issues); a permanent one (e.g. a header layout we
   * cannot rebuild) is logged and the ack stands without a receipt.
   */
  async function withReceipt(alertId: string, receipt: ChainReceipt | null): Promise<ChainReceipt | null> {
    if (!receipt?.txHash) return receipt;
    onWrite?.();
    if (!receipts) return receipt;
    try {
      await receipts.issue({ alertKey: alertId, txHash: receipt.txHash });
      ledgerMetrics.receipts.inc({ result: 'ok' });
    } catch (err) {
      ledgerMetrics.receipts.inc({ result: 'error' });
      if (!(err instanceof LedgerConfigError)) throw toLedgerFailure(err);
      log.error({ alertId, tx: receipt.txHash, err: err.message }, 'ledger receipt could not be issued');
    }
    return receipt;
  }

  async function withAutoRecord<T>(l: LedgerClient, alertId: string, alert: RecordAckOnChainInput['alert'], fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!alert || !isUnknownAlert(err)) throw err;
      log.info({ alertId }, 'alert not on the ledger yet; recording it before the ack/resolve');
      await l.recordAlert({ alertId, ...alert });
      return fn();
    }
  }

  return {
    recordAlertOnChain: (input) => run('alert recorded', input.alertId, (l) => l.recordAlert(input)),

    recordAckOnChain: async ({ alert, ...ack }) =>
      withReceipt(ack.alertId, await run('ack recorded', ack.alertId, (l) => withAutoRecord(l, ack.alertId, alert, () => l.acknowledge(ack)))),

    recordResolveOnChain: async ({ alert, ...res }) =>
      withReceipt(res.alertId, await run('resolve recorded', res.alertId, (l) => withAutoRecord(l, res.alertId, alert, () => l.resolve(res)))),

    async readAlertRecord({ alertId }) {
      if (!ledger) return null;
      try {
        const [record, events, head] = await Promise.all([ledger.getAlert(alertId), ledger.getAlertEvents(alertId), ledger.head()]);
        return {
          alertId,
          ledgerId: ledgerAlertId(alertId),
          chainId: ledger.chainId,
          contract: ledger.address,
          record,
          events,
          head: { blockNumber: head.blockNumber, blockHash: head.blockHash, alertCount: head.alertCount, digest: head.digest },
        };
      } catch (err) {
        throw toLedgerFailure(err);
      }
    },
  };
}
