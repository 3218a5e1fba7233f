/**
 * Read-only access to every deployed AlertLedger version on one chain: no key, no wallet,
 * only the RPC URL and the addresses (from the registry, LEDGER_ADDRESS or ledger.json).
 * This is what the API's audit and `telemetry-stack verify` use, so that reading the ledger
 * never needs the recorder's private key.
 *
 * Invariant: versions are searched newest first, and a record is reported with the address
 * it was found at; a record present in two versions (re-recorded after an upgrade) is
 * reported from the newest, and the older one is listed in `alsoAt` so the audit can say so.
 */
import { Contract, FetchRequest, Interface, JsonRpcProvider, Network, type Log } from 'ethers';
import { loadLedgerArtifact } from '../../contracts/compile.ts';
import { LedgerConfigError, LedgerUnavailableError, decodeLedgerRevert, errorText, isTransientChainError } from './ledger-errors.ts';
import { ledgerAlertId } from './ledger-ids.ts';
import type { LedgerAlertRecord, LedgerEventKind, LedgerHead } from './ledger-client.ts';
import type { LedgerDeployment } from './ledger-deployment.ts';
import { ZERO_ADDRESS, rpcChainId, toRecord, type RawRecord } from './ledger-record.ts';

export { rpcChainId };

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** eth_getLogs range per request: nodes cap ranges (geth/anvil allow large ones, hosted RPCs 10k). */
const LOG_RANGE_BLOCKS = 50_000;

/** One ledger write as the contract folded it into its digest (AlertLedger.sol `_fold`). */
export interface LedgerEntry {
  kind: LedgerEventKind;
  /** keccak256(alertKey). */
  id: string;
  /** deviceHash / responderHash / reasonHash. */
  dataHash: string;
  /** severity / channel / 0. */
  small: number;
  /** Unix ms. */
  at: string;
  recorder: string;
  txHash: string;
  blockNumber: number;
  blockHash: string;
  logIndex: number;
}

/** The ledger head at a block (the writer's LedgerHead; the reader asks for it without a key). */
export type LedgerHeadAt = LedgerHead;

export interface FoundRecord {
  deployment: LedgerDeployment;
  record: LedgerAlertRecord;
  /** Every write of this alert at that address, in chain order. */
  entries: LedgerEntry[];
  /** Other versions that also hold this id. */
  alsoAt: string[];
}

const EVENT_KIND: Record<string, LedgerEventKind> = {
  AlertRecorded: 'recorded',
  AlertAcknowledged: 'acknowledged',
  AlertResolved: 'resolved',
};

export interface LedgerReaderOptions {
  rpcUrl: string;
  /** Known versions, any order; the newest (highest deployBlock) is searched first. */
  deployments: LedgerDeployment[];
  chainId?: number;
  requestTimeoutMs?: number;
}

export class LedgerReader {
  readonly chainId: number;
  readonly rpcUrl: string;
  private readonly provider: JsonRpcProvider;
  private readonly iface: Interface;
  private versions: LedgerDeployment[];

  private constructor(opts: LedgerReaderOptions & { chainId: number; abi: unknown[] }) {
    this.chainId = opts.chainId;
    this.rpcUrl = opts.rpcUrl;
    const req = new FetchRequest(opts.rpcUrl);
    req.timeout = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const network = Network.from(opts.chainId);
    this.provider = new JsonRpcProvider(req, network, { staticNetwork: network, cacheTimeout: -1, batchMaxCount: 1 });
    this.iface = new Interface(opts.abi as never);
    this.versions = sortNewestFirst(opts.deployments);
  }

  static async connect(opts: LedgerReaderOptions): Promise<LedgerReader> {
    const artifact = await loadLedgerArtifact();
    const chainId = opts.chainId ?? (await rpcChainId(opts.rpcUrl, opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS));
    return new LedgerReader({ ...opts, chainId, abi: artifact.abi });
  }

  /** The versions this reader searches, newest first. */
  get deployments(): readonly LedgerDeployment[] {
    return this.versions;
  }

  /** Replaces the version list (the registry changed: a new contract was deployed). */
  setDeployments(deployments: LedgerDeployment[]): void {
    this.versions = sortNewestFirst(deployments);
  }

  close(): void {
    this.provider.destroy();
  }

  /** Finds an alert key in any version; null when no version holds it. */
  async findAlert(alertKey: string): Promise<FoundRecord | null> {
    const id = ledgerAlertId(alertKey);
    let found: FoundRecord | null = null;
    for (const d of this.versions) {
      const record = await this.getRecord(d.address, id);
      if (!record) continue;
      if (found) {
        found.alsoAt.push(d.address);
        continue;
      }
      found = { deployment: d, record, entries: await this.entries(d, { id }), alsoAt: [] };
    }
    return found;
  }

  /** The record of `id` at one address, null when absent (UnknownAlert) or no code there. */
  async getRecord(address: string, id: string): Promise<LedgerAlertRecord | null> {
    const contract = new Contract(address, this.iface, this.provider);
    try {
      const r = (await contract.getFunction('getAlert').staticCall(id)) as RawRecord;
      return r.recordedBy === ZERO_ADDRESS ? null : toRecord(id, r);
    } catch (err) {
      const revert = decodeLedgerRevert(this.iface, err);
      if (revert?.name === 'UnknownAlert') return null;
      if (!revert && /BAD_DATA|could not decode result data/i.test(errorText(err))) return null; // no code at this address
      throw unavailable(err, 'getAlert');
    }
  }

  /** Ledger writes of one version in chain order (optionally of one alert id, up to a block). */
  async entries(d: LedgerDeployment, opts: { id?: string; fromBlock?: number; toBlock?: number } = {}): Promise<LedgerEntry[]> {
    const topics = Object.keys(EVENT_KIND).map((name) => this.iface.getEvent(name)!.topicHash);
    const to = opts.toBlock ?? (await this.read(() => this.provider.getBlockNumber(), 'blockNumber'));
    const out: LedgerEntry[] = [];
    for (let from = Math.max(d.deployBlock ?? 0, opts.fromBlock ?? 0); from <= to; from += LOG_RANGE_BLOCKS) {
      const logs = await this.read(
        () =>
          this.provider.getLogs({
            address: d.address,
            fromBlock: from,
            toBlock: Math.min(to, from + LOG_RANGE_BLOCKS - 1),
            topics: opts.id ? [topics, opts.id] : [topics],
          }),
        'getLogs',
      );
      for (const log of logs) out.push(this.toEntry(log));
    }
    return out;
  }

  /** The contract's head at the latest block (or at `blockTag`). */
  async head(address: string, blockTag?: number): Promise<LedgerHeadAt> {
    return this.read(async () => {
      const block = await this.provider.getBlock(blockTag ?? 'latest');
      if (!block?.hash) throw new LedgerUnavailableError('node returned no block');
      const contract = new Contract(address, this.iface, this.provider);
      const [alerts, events, digest] = (await contract.getFunction('ledgerHead').staticCall({ blockTag: block.number })) as [bigint, bigint, string];
      return {
        chainId: this.chainId,
        address,
        blockNumber: block.number,
        blockHash: block.hash,
        alertCount: Number(alerts),
        eventCount: Number(events),
        digest,
      };
    }, 'head');
  }

  async blockNumber(): Promise<number> {
    return this.read(() => this.provider.getBlockNumber(), 'blockNumber');
  }

  /** Hash of the canonical block at `number`, null when the chain is shorter. */
  async blockHash(number: number): Promise<string | null> {
    return this.read(async () => (await this.provider.getBlock(number))?.hash ?? null, 'getBlock');
  }

  /** Raw JSON-RPC (for eth_getBlockReceipts and the header fields ethers does not expose). */
  send<T>(method: string, params: unknown[]): Promise<T> {
    return this.read(() => this.provider.send(method, params) as Promise<T>, method);
  }

  private toEntry(log: Log): LedgerEntry {
    const parsed = this.iface.parseLog(log);
    if (!parsed) throw new LedgerConfigError(`undecodable ledger log ${log.transactionHash}#${log.index}`);
    const kind = EVENT_KIND[parsed.name]!;
    const a = parsed.args;
    const base = { kind, id: String(a.id), txHash: log.transactionHash, blockNumber: log.blockNumber, blockHash: log.blockHash, logIndex: log.index };
    if (kind === 'recorded') {
      return { ...base, dataHash: String(a.deviceHash), small: Number(a.severity), at: String(a.raisedAt), recorder: String(a.recorder) };
    }
    if (kind === 'acknowledged') {
      return { ...base, dataHash: String(a.responderHash), small: Number(a.channel), at: String(a.ackedAt), recorder: String(a.recorder) };
    }
    return { ...base, dataHash: String(a.reasonHash), small: 0, at: String(a.resolvedAt), recorder: String(a.recorder) };
  }

  private async read<T>(fn: () => Promise<T>, what: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw unavailable(err, what);
    }
  }
}

function sortNewestFirst(ds: LedgerDeployment[]): LedgerDeployment[] {
  const seen = new Set<string>();
  return [...ds]
    .sort((a, b) => (b.deployBlock ?? 0) - (a.deployBlock ?? 0))
    .filter((d) => {
      const k = d.address.toLowerCase();
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
}

function unavailable(err: unknown, what: string): unknown {
  if (err instanceof LedgerUnavailableError || err instanceof LedgerConfigError) return err;
  if (isTransientChainError(err)) return new LedgerUnavailableError(`${what}: ${errorText(err)}`, { cause: err });
  return err;
}

