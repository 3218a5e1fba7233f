/**
 * ethers v6 client of AlertLedger.sol: deploy, write (record / acknowledge / resolve), read.
 *
 * Idempotency (every write is safe to repeat — Temporal retries activities):
 *   1. read the record first; if the chain already holds the same data, return the ORIGINAL
 *      transaction (found through the event log) with `alreadyRecorded: true`;
 *   2. if the id holds different data → LedgerConflictError (permanent);
 *   3. otherwise send; if it reverts because a concurrent/earlier attempt won the race
 *      (AlertExists / AlreadyAcknowledged / AlreadyResolved), go back to step 1.
 *
 * Nonces: one signer, many concurrent calls. Gas estimation (which is also the revert
 * pre-flight) runs outside any lock; only "take nonce → sign → broadcast" is serialised,
 * so a reverting estimate never burns a nonce (ethers' NonceManager increments before
 * populating and leaves a gap that stalls every later tx). On a nonce error the local
 * counter is re-read from the node's pending count and the broadcast is retried.
 * Hazard: two processes sharing one key race for nonces; give each worker its own
 * recorder key (grantRecorder) — the nonce-error retry only papers over occasional clashes.
 */
import {
  Contract,
  ContractFactory,
  FetchRequest,
  Interface,
  JsonRpcProvider,
  Network,
  Wallet,
  type Log,
  type TransactionReceipt,
  type TransactionRequest,
} from 'ethers';
import type { ChainReceipt, AckChannel, Severity } from '../../lib/alerts/types.ts';
import type { Logger } from '../../lib/logger.ts';
import { loadLedgerArtifact } from '../../contracts/compile.ts';
import { ZERO_ADDRESS, rpcChainId, toRecord, type RawRecord } from './ledger-record.ts';
import {
  LedgerConfigError,
  LedgerConflictError,
  LedgerRevertError,
  LedgerUnavailableError,
  decodeLedgerRevert,
  isDatalessRevert,
  isTransientChainError,
  errorText,
} from './ledger-errors.ts';
import {
  channelCode,
  channelFromCode,
  identityHash,
  ledgerAlertId,
  resolutionHash,
  severityCode,
  toUint64Ms,
} from './ledger-ids.ts';

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
// Below the workflow's 60 s startToCloseTimeout, so a slow chain fails as a clean retryable error.
const DEFAULT_RECEIPT_TIMEOUT_MS = 30_000;
/** Gas estimate head-room: state can change between estimate and inclusion. */
const GAS_MARGIN_PCT = 125n;
const MAX_NONCE_RETRIES = 3;

// ------------------------------------------------------------------------------ types

export interface LedgerConnectOptions {
  rpcUrl: string;
  /** Recorder key (0x + 64 hex). */
  privateKey: string;
  /** Deployed AlertLedger address. */
  address: string;
  /** Known chain id; else asked once with eth_chainId (fails fast if the node is down). */
  chainId?: number;
  /** First block that can hold ledger events (the deploy block); bounds log scans. Default 0. */
  fromBlock?: number;
  /** Per-RPC-request timeout, ms. Default 10 s. */
  requestTimeoutMs?: number;
  /** How long to wait for a sent tx to be mined before failing retryably, ms. Default 30 s. */
  receiptTimeoutMs?: number;
  logger?: Logger;
}

export interface RecordAlertInput {
  alertId: string;
  device: string;
  severity: Severity;
  raisedAtMs: number;
}
export interface AcknowledgeInput {
  alertId: string;
  /** Responder identity (Slack user id, API key name, console user); stored hashed. */
  responder: string;
  via: AckChannel;
  ackedAtMs: number;
}
export interface ResolveInput {
  alertId: string;
  by: string;
  reason: string;
  resolvedAtMs: number;
}

/** An alert's on-chain record, JSON-safe (uint64 → decimal string). */
export interface LedgerAlertRecord {
  /** keccak256(alertId), the on-chain key. */
  id: string;
  deviceHash: string;
  severity: string;
  raisedAtMs: string;
  recordedBy: string;
  acknowledged: null | { responderHash: string; ackedAtMs: string; channel: string | null; recorder: string };
  resolved: null | { reasonHash: string; resolvedAtMs: string; recorder: string };
}

export type LedgerEventKind = 'recorded' | 'acknowledged' | 'resolved';
export interface LedgerEventRef {
  kind: LedgerEventKind;
  txHash: string;
  blockNumber: number;
  blockHash: string;
  logIndex: number;
}

export interface LedgerHead {
  chainId: number;
  address: string;
  blockNumber: number;
  blockHash: string;
  /** Contract state AT that block. */
  alertCount: number;
  eventCount: number;
  /** Rolling keccak digest over every write (see AlertLedger.sol `_fold`). */
  digest: string;
}

export interface DeployLedgerInput {
  rpcUrl: string;
  privateKey: string;
  requestTimeoutMs?: number;
  /** How long to wait for the deployment to be mined (default 30 s). */
  receiptTimeoutMs?: number;
}
export interface DeployLedgerResult {
  address: string;
  txHash: string;
  blockNumber: number;
  chainId: number;
}

// ------------------------------------------------------------------------------ helpers

function makeProvider(rpcUrl: string, chainId: number | undefined, requestTimeoutMs: number): JsonRpcProvider {
  const req = new FetchRequest(rpcUrl);
  req.timeout = requestTimeoutMs;
  // A static network stops ethers from looping forever ("failed to detect network") when
  // the node is down; cacheTimeout -1 so head() never serves a stale block number.
  return new JsonRpcProvider(req, chainId === undefined ? undefined : Network.from(chainId), {
    staticNetwork: chainId === undefined ? true : Network.from(chainId),
    cacheTimeout: -1,
    batchMaxCount: 1,
    pollingInterval: 250,
  });
}

/** Wraps a node/transport failure as retryable, passes our own typed errors through. */
function asUnavailable(err: unknown, what: string): unknown {
  if (
    err instanceof LedgerRevertError ||
    err instanceof LedgerConflictError ||
    err instanceof LedgerConfigError ||
    err instanceof LedgerUnavailableError
  ) {
    return err;
  }
  if (isTransientChainError(err)) return new LedgerUnavailableError(`${what}: ${errorText(err)}`, { cause: err });
  return err;
}

/**
 * The deployment's receipt, polled with a bound. Not `tx.wait()`: a deploy
 * comes right after a node starts, when geth answers receipt queries with
 * "transaction indexing is in progress" (an error, not null), and ethers'
 * `wait()` has no bound of its own: a CI run hung 15 min in the geth test's
 * set-up, where this wait was the only unbounded step. Now it either returns
 * or fails retryably, naming the tx.
 */
async function minedReceipt(provider: JsonRpcProvider, hash: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const r = await provider.getTransactionReceipt(hash);
      if (r) return r;
    } catch (err) {
      if (!/indexing is in progress/i.test(errorText(err))) throw err;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new LedgerUnavailableError(`deployLedger: tx ${hash} not mined within ${timeoutMs} ms`);
}

/** `deployLedger` — compiles if needed, deploys, waits for 1 confirmation. */
export async function deployLedger(input: DeployLedgerInput): Promise<DeployLedgerResult> {
  const artifact = await loadLedgerArtifact();
  const chainId = await rpcChainId(input.rpcUrl, input.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
  const provider = makeProvider(input.rpcUrl, chainId, input.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
  try {
    const wallet = new Wallet(input.privateKey, provider);
    const factory = new ContractFactory(artifact.abi as never, artifact.bytecode, wallet);
    const contract = await factory.deploy();
    const tx = contract.deploymentTransaction();
    const receipt = tx ? await minedReceipt(provider, tx.hash, input.receiptTimeoutMs ?? DEFAULT_RECEIPT_TIMEOUT_MS) : null;
    if (!receipt || receipt.status !== 1) throw new LedgerConfigError('AlertLedger deployment failed (no receipt or status 0)');
    return { address: await contract.getAddress(), txHash: receipt.hash, blockNumber: receipt.blockNumber, chainId };
  } catch (err) {
    throw asUnavailable(err, 'deployLedger');
  } finally {
    provider.destroy();
  }
}

// ------------------------------------------------------------------------------ client

const EVENT_BY_KIND = { recorded: 'AlertRecorded', acknowledged: 'AlertAcknowledged', resolved: 'AlertResolved' } as const;

export class LedgerClient {
  readonly address: string;
  readonly chainId: number;
  readonly signerAddress: string;
  private readonly provider: JsonRpcProvider;
  private readonly wallet: Wallet;
  private readonly contract: Contract;
  private readonly iface: Interface;
  private readonly fromBlock: number;
  private readonly receiptTimeoutMs: number;
  private readonly logger: Logger | undefined;
  /** Next nonce to use; undefined → re-read the pending count from the node. */
  private nextNonce: number | undefined;
  /** Tail of the send queue (promise chain = mutex). */
  private sendQueue: Promise<unknown> = Promise.resolve();

  private constructor(opts: LedgerConnectOptions & { chainId: number; abi: unknown[] }) {
    this.address = opts.address;
    this.chainId = opts.chainId;
    this.provider = makeProvider(opts.rpcUrl, opts.chainId, opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    this.wallet = new Wallet(opts.privateKey, this.provider);
    this.signerAddress = this.wallet.address;
    this.iface = new Interface(opts.abi as never);
    this.contract = new Contract(opts.address, this.iface, this.wallet);
    this.fromBlock = opts.fromBlock ?? 0;
    this.receiptTimeoutMs = opts.receiptTimeoutMs ?? DEFAULT_RECEIPT_TIMEOUT_MS;
    this.logger = opts.logger;
  }

  /** Connects and checks that the address holds code (LedgerConfigError otherwise). */
  static async connect(opts: LedgerConnectOptions): Promise<LedgerClient> {
    const artifact = await loadLedgerArtifact();
    const chainId = opts.chainId ?? (await rpcChainId(opts.rpcUrl, opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS));
    const client = new LedgerClient({ ...opts, chainId, abi: artifact.abi });
    let code: string;
    try {
      code = await client.provider.getCode(opts.address);
    } catch (err) {
      client.close();
      throw asUnavailable(err, 'getCode');
    }
    if (code === '0x') {
      client.close();
      throw new LedgerConfigError(`no contract at ${opts.address} on chain ${chainId} (${opts.rpcUrl})`);
    }
    return client;
  }

  /** Releases the provider's timers. */
  close(): void {
    this.provider.destroy();
  }

  // ---------------------------------------------------------------- roles

  isRecorder(account: string): Promise<boolean> {
    return this.read(() => this.contract.getFunction('isRecorder').staticCall(account) as Promise<boolean>, 'isRecorder');
  }

  /** Owner only. No-op on chain when already granted (still returns a receipt). */
  grantRecorder(account: string): Promise<ChainReceipt> {
    return this.sendAndWait('grantRecorder', [account]);
  }

  revokeRecorder(account: string): Promise<ChainReceipt> {
    return this.sendAndWait('revokeRecorder', [account]);
  }

  // ---------------------------------------------------------------- writes

  async recordAlert(input: RecordAlertInput): Promise<ChainReceipt> {
    const id = ledgerAlertId(input.alertId);
    const deviceHash = identityHash(input.device, 'device');
    const severity = severityCode(input.severity);
    const raisedAt = toUint64Ms(input.raisedAtMs, 'raisedAtMs');
    const existing = async (): Promise<ChainReceipt | null> => {
      const rec = await this.getRaw(id);
      if (!rec) return null;
      if (rec.deviceHash !== deviceHash || Number(rec.severity) !== severity || rec.raisedAt !== raisedAt) {
        throw new LedgerConflictError(
          `alert ${input.alertId} is already on the ledger with different data (alert ids must be unique per occurrence)`,
          { id, deviceHash: rec.deviceHash, severity: Number(rec.severity), raisedAtMs: rec.raisedAt.toString() },
        );
      }
      return this.originalReceipt(id, 'recorded');
    };
    return this.idempotentWrite('recordAlert', [id, deviceHash, severity, raisedAt], existing, ['AlertExists']);
  }

  /**
   * Once per alert. Same responder + channel already on chain → the original receipt
   * (the first ack's timestamp stands). A different responder → LedgerConflictError.
   * An alert never recorded → LedgerRevertError UnknownAlert.
   */
  async acknowledge(input: AcknowledgeInput): Promise<ChainReceipt> {
    const id = ledgerAlertId(input.alertId);
    const responderHash = identityHash(input.responder, 'responder');
    const channel = channelCode(input.via);
    const ackedAt = toUint64Ms(input.ackedAtMs, 'ackedAtMs');
    const existing = async (): Promise<ChainReceipt | null> => {
      const rec = await this.getRaw(id);
      if (!rec || rec.ackedBy === ZERO_ADDRESS) return null; // unknown/resolved: let the send revert by name
      if (rec.responderHash !== responderHash || Number(rec.channel) !== channel) {
        throw new LedgerConflictError(`alert ${input.alertId} was already acknowledged by another responder or channel`, {
          id,
          responderHash: rec.responderHash,
          channel: channelFromCode(Number(rec.channel)),
          ackedAtMs: rec.ackedAt.toString(),
        });
      }
      return this.originalReceipt(id, 'acknowledged');
    };
    return this.idempotentWrite('acknowledge', [id, responderHash, ackedAt, channel], existing, ['AlreadyAcknowledged']);
  }

  /** Once per alert. Same by + reason already on chain → the original receipt. */
  async resolve(input: ResolveInput): Promise<ChainReceipt> {
    const id = ledgerAlertId(input.alertId);
    const reasonHash = resolutionHash(input.by, input.reason);
    const resolvedAt = toUint64Ms(input.resolvedAtMs, 'resolvedAtMs');
    const existing = async (): Promise<ChainReceipt | null> => {
      const rec = await this.getRaw(id);
      if (!rec || rec.resolvedBy === ZERO_ADDRESS) return null;
      if (rec.reasonHash !== reasonHash) {
        throw new LedgerConflictError(`alert ${input.alertId} was already resolved with a different resolver/reason`, {
          id,
          reasonHash: rec.reasonHash,
          resolvedAtMs: rec.resolvedAt.toString(),
        });
      }
      return this.originalReceipt(id, 'resolved');
    };
    return this.idempotentWrite('resolve', [id, resolvedAt, reasonHash], existing, ['AlreadyResolved']);
  }

  // ---------------------------------------------------------------- reads

  /** The record, or null when the alert id was never recorded. */
  async getAlert(alertId: string): Promise<LedgerAlertRecord | null> {
    const id = ledgerAlertId(alertId);
    const rec = await this.getRaw(id);
    return rec ? toRecord(id, rec) : null;
  }

  /** Every ledger event of one alert (recorded / acknowledged / resolved), in chain order. */
  async getAlertEvents(alertId: string): Promise<LedgerEventRef[]> {
    const id = ledgerAlertId(alertId);
    const topics = Object.values(EVENT_BY_KIND).map((name) => this.iface.getEvent(name)!.topicHash);
    const logs = await this.read(
      () => this.provider.getLogs({ address: this.address, fromBlock: this.fromBlock, toBlock: 'latest', topics: [topics, id] }),
      'getLogs',
    );
    return logs.map((log) => this.toEventRef(log));
  }

  /** Latest block and the contract's head at exactly that block (for external anchoring). */
  async head(): Promise<LedgerHead> {
    return this.read(async () => {
      const block = await this.provider.getBlock('latest');
      if (!block?.hash) throw new LedgerUnavailableError('node returned no latest block');
      const [alerts, events, digest] = (await this.contract.getFunction('ledgerHead').staticCall({ blockTag: block.number })) as [
        bigint,
        bigint,
        string,
      ];
      return {
        chainId: this.chainId,
        address: this.address,
        blockNumber: block.number,
        blockHash: block.hash,
        alertCount: Number(alerts),
        eventCount: Number(events),
        digest,
      };
    }, 'head');
  }

  // ---------------------------------------------------------------- internals

  private async getRaw(id: string): Promise<RawRecord | null> {
    try {
      const r = (await this.contract.getFunction('getAlert').staticCall(id)) as RawRecord;
      return r.recordedBy === ZERO_ADDRESS ? null : r;
    } catch (err) {
      if (decodeLedgerRevert(this.iface, err)?.name === 'UnknownAlert') return null;
      throw asUnavailable(err, 'getAlert');
    }
  }

  private async read<T>(fn: () => Promise<T>, what: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw asUnavailable(err, what);
    }
  }

  private toEventRef(log: Log): LedgerEventRef {
    const name = this.iface.parseLog(log)?.name;
    const kind = (Object.keys(EVENT_BY_KIND) as LedgerEventKind[]).find((k) => EVENT_BY_KIND[k] === name) ?? 'recorded';
    return { kind, txHash: log.transactionHash, blockNumber: log.blockNumber, blockHash: log.blockHash, logIndex: log.index };
  }

  /** The tx that first wrote `kind` for `id`, found through its (indexed-id) event. */
  private async originalReceipt(id: string, kind: LedgerEventKind): Promise<ChainReceipt> {
    const topic = this.iface.getEvent(EVENT_BY_KIND[kind])!.topicHash;
    const logs = await this.read(
      () => this.provider.getLogs({ address: this.address, fromBlock: this.fromBlock, toBlock: 'latest', topics: [topic, id] }),
      'getLogs',
    );
    const first = logs[0];
    if (!first) {
      // State says written but the log is gone (node without history, pruned logs). The
      // record stands; report it without a tx rather than failing the workflow.
      this.logger?.warn({ id, kind, address: this.address }, 'ledger record exists but its event log was not found');
      return { txHash: '', blockNumber: 0, alreadyRecorded: true };
    }
    return { txHash: first.transactionHash, blockNumber: first.blockNumber, alreadyRecorded: true, contract: this.address, chainId: this.chainId };
  }

  /**
   * Check → send → on an "already" revert (or a status-0 receipt) check again. The second
   * check sees the winner of a race and maps it to its receipt or to a conflict.
   */
  private async idempotentWrite(
    method: string,
    args: unknown[],
    existing: () => Promise<ChainReceipt | null>,
    alreadyErrors: string[],
  ): Promise<ChainReceipt> {
    const before = await existing();
    if (before) return before;
    try {
      return await this.sendAndWait(method, args);
    } catch (err) {
      const raced =
        (err instanceof LedgerRevertError && alreadyErrors.includes(err.errorName)) || err instanceof MinedRevertError;
      if (!raced) throw err;
      const after = await existing();
      if (after) return after;
      if (err instanceof MinedRevertError) {
        // Mined with status 0 and nothing recorded: re-simulate to name the revert.
        await this.estimate(method, args);
        throw new LedgerRevertError('unknown', [], { method, cause: err });
      }
      throw err;
    }
  }

  /** eth_estimateGas from the signer: the revert pre-flight, decoded to the custom error. */
  private async estimate(method: string, args: unknown[]): Promise<{ data: string; gasLimit: bigint }> {
    const data = this.iface.encodeFunctionData(method, args);
    try {
      const gas = await this.provider.estimateGas({ from: this.signerAddress, to: this.address, data });
      return { data, gasLimit: (gas * GAS_MARGIN_PCT) / 100n };
    } catch (err) {
      const revert = decodeLedgerRevert(this.iface, err);
      if (revert) throw new LedgerRevertError(revert.name, revert.args, { method, cause: err });
      if (isDatalessRevert(err)) throw new LedgerRevertError('unknown', [], { method, cause: err });
      throw asUnavailable(err, `${method} estimateGas`);
    }
  }

  private async sendAndWait(method: string, args: unknown[]): Promise<ChainReceipt> {
    const { data, gasLimit } = await this.estimate(method, args);
    let fees: { maxFeePerGas: bigint | null; maxPriorityFeePerGas: bigint | null; gasPrice: bigint | null };
    try {
      fees = await this.provider.getFeeData();
    } catch (err) {
      throw asUnavailable(err, 'getFeeData');
    }
    const base: TransactionRequest = { to: this.address, data, gasLimit, chainId: this.chainId };
    if (fees.maxFeePerGas !== null && fees.maxPriorityFeePerGas !== null) {
      Object.assign(base, { type: 2, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas });
    } else {
      Object.assign(base, { type: 0, gasPrice: fees.gasPrice });
    }
    const hash = await this.broadcastSerialised(base, method);
    const receipt = await this.waitForReceipt(hash, method);
    if (receipt.status !== 1) throw new MinedRevertError(method, hash);
    return { txHash: receipt.hash, blockNumber: receipt.blockNumber, alreadyRecorded: false, contract: this.address, chainId: this.chainId };
  }

  /** Nonce → sign → broadcast, one at a time. Nonce errors refresh the counter and retry. */
  private broadcastSerialised(base: TransactionRequest, method: string): Promise<string> {
    const run = async (): Promise<string> => {
      for (let attempt = 0; ; attempt++) {
        try {
          this.nextNonce ??= await this.provider.getTransactionCount(this.signerAddress, 'pending');
          const nonce = this.nextNonce;
          const signed = await this.wallet.signTransaction({ ...base, nonce, from: this.signerAddress });
          const hash = (await this.provider.send('eth_sendRawTransaction', [signed])) as string;
          this.nextNonce = nonce + 1;
          return hash;
        } catch (err) {
          // After any failure we no longer know what the node holds: re-read next time.
          this.nextNonce = undefined;
          const text = errorText(err).toLowerCase();
          const nonceRace = /nonce too low|nonce has already been used|nonce_expired|already known|replacement/.test(text);
          if (nonceRace && attempt < MAX_NONCE_RETRIES) {
            this.logger?.debug({ method, attempt, err: text }, 'ledger nonce race; refreshing nonce');
            continue;
          }
          throw asUnavailable(err, `${method} broadcast`);
        }
      }
    };
    const result = this.sendQueue.then(run, run);
    this.sendQueue = result.catch(() => undefined);
    return result;
  }

  /** Polls for the receipt (50 ms → 500 ms); on timeout fails retryably — the retry's pre-check finds a late mine. */
  private async waitForReceipt(hash: string, method: string): Promise<TransactionReceipt> {
    const deadline = Date.now() + this.receiptTimeoutMs;
    let delay = 25;
    for (;;) {
      let receipt: TransactionReceipt | null;
      try {
        receipt = await this.provider.getTransactionReceipt(hash);
      } catch (err) {
        throw asUnavailable(err, `${method} receipt ${hash}`);
      }
      if (receipt && receipt.blockNumber !== null) return receipt;
      if (Date.now() > deadline) {
        // A tx that never mines leaves a nonce gap; make the next send re-read the node.
        this.nextNonce = undefined;
        throw new LedgerUnavailableError(`${method}: tx ${hash} not mined within ${this.receiptTimeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 500);
    }
  }
}

/** A tx that was mined with status 0 (reverted on chain after a passing estimate). */
class MinedRevertError extends Error {
  override name = 'MinedRevertError';
  constructor(
    readonly method: string,
    readonly txHash: string,
  ) {
    super(`${method}: tx ${txHash} reverted on chain`);
  }
}

