/**
 * Issues the standalone receipt (lib/ledger/receipt.ts) of an ack or resolve once its tx is
 * mined: rebuilds the block's receipt trie from eth_getBlockReceipts (or one
 * eth_getTransactionReceipt per tx when the node lacks it), proves the tx's receipt against
 * the header's receiptsRoot, signs with the recorder key, and stores it in the JetStream KV
 * bucket `ledger_receipts` under `<ledgerId>.<kind>`.
 *
 * Idempotent: the same tx yields the same body (the signature is deterministic, RFC 6979),
 * and a put of an identical receipt is harmless. A failure is thrown so the activity retries;
 * the ledger write itself is already idempotent, so a retry only re-issues the receipt.
 * Invariant: nothing is signed unless the rebuilt trie root equals the header's receiptsRoot
 * and the header hashes to the block hash (our encoding matches the node's).
 */
import { encodeRlp, getBytes, hexlify, keccak256, type Wallet } from 'ethers';
import { createMerkleProof, createMPT } from '@ethereumjs/mpt';
import type { KV, NatsConnection } from 'nats';
import { receiptTrieKey, receiptSigningMessage, rlpInt, RECEIPT_FORMAT, type LedgerReceipt, type ReceiptBody } from '../../lib/ledger/receipt.ts';
import { foldEntryOf } from '../../lib/ledger/ledger-fold.ts';
import { LedgerConfigError } from './ledger-errors.ts';
import { ledgerAlertId } from './ledger-ids.ts';
import type { LedgerLog } from './ledger-log.ts';
import type { LedgerReader } from './ledger-reader.ts';

export const LEDGER_RECEIPTS_BUCKET = 'ledger_receipts';

interface RpcLog {
  address: string;
  topics: string[];
  data: string;
}
interface RpcReceipt {
  type?: string;
  status?: string;
  cumulativeGasUsed: string;
  logsBloom: string;
  logs: RpcLog[];
  transactionHash: string;
  transactionIndex: string;
  blockHash: string;
  blockNumber: string;
}
type RpcBlock = Record<string, string | string[] | undefined> & { hash: string; number: string; receiptsRoot: string; transactions: string[] };

/** Header fields in RLP order; the optional tail depends on the fork (London … Prague). */
const HEADER_FIELDS = [
  'parentHash', 'sha3Uncles', 'miner', 'stateRoot', 'transactionsRoot', 'receiptsRoot', 'logsBloom', 'difficulty', 'number',
  'gasLimit', 'gasUsed', 'timestamp', 'extraData', 'mixHash', 'nonce',
] as const;
const HEADER_OPTIONAL = ['baseFeePerGas', 'withdrawalsRoot', 'blobGasUsed', 'excessBlobGas', 'parentBeaconBlockRoot', 'requestsHash'] as const;
const INT_FIELDS = new Set(['difficulty', 'number', 'gasLimit', 'gasUsed', 'timestamp', 'baseFeePerGas', 'blobGasUsed', 'excessBlobGas']);

export function headerRlp(block: RpcBlock): string {
  const values: string[] = [];
  for (const f of HEADER_FIELDS) values.push(INT_FIELDS.has(f) ? rlpInt(String(block[f])) : String(block[f]));
  for (const f of HEADER_OPTIONAL) {
    const v = block[f];
    if (v === undefined || v === null) break; // fields are cumulative: a missing one ends the list
    values.push(INT_FIELDS.has(f) ? rlpInt(String(v)) : String(v));
  }
  return encodeRlp(values);
}

export function receiptRlp(r: RpcReceipt): string {
  const status = r.status !== undefined && BigInt(r.status) === 1n ? '0x01' : '0x';
  const body = encodeRlp([status, rlpInt(r.cumulativeGasUsed), r.logsBloom, r.logs.map((l) => [l.address, l.topics, l.data])]);
  const type = r.type === undefined ? 0 : Number(BigInt(r.type));
  return type === 0 ? body : hexlify(new Uint8Array([type, ...getBytes(body)]));
}

export interface ReceiptIssuerDeps {
  reader: LedgerReader;
  log: LedgerLog;
  /** The recorder key (the same key that sent the tx: the verifier checks the logged recorder). */
  wallet: Wallet;
  contract: string;
  store?: ReceiptStore;
}

export interface ReceiptStore {
  put(r: LedgerReceipt): Promise<void>;
  get(ledgerId: string, kind: string): Promise<LedgerReceipt | null>;
}

export class KvReceiptStore implements ReceiptStore {
  private constructor(private readonly kv: KV) {}
  static async open(nc: NatsConnection, replicas = 1): Promise<KvReceiptStore> {
    return new KvReceiptStore(await nc.jetstream().views.kv(LEDGER_RECEIPTS_BUCKET, { history: 1, replicas }));
  }
  private static key(ledgerId: string, kind: string): string {
    return `${ledgerId.replace(/^0x/, '')}.${kind}`;
  }
  async put(r: LedgerReceipt): Promise<void> {
    await this.kv.put(KvReceiptStore.key(r.event.id, r.event.kind), JSON.stringify(r));
  }
  async get(ledgerId: string, kind: string): Promise<LedgerReceipt | null> {
    const e = await this.kv.get(KvReceiptStore.key(ledgerId, kind));
    return e && e.operation === 'PUT' && e.value.length > 0 ? (JSON.parse(e.string()) as LedgerReceipt) : null;
  }
}

export class ReceiptIssuer {
  constructor(private readonly deps: ReceiptIssuerDeps) {}

  async issue(input: { alertKey: string; txHash: string }): Promise<LedgerReceipt> {
    const { reader, log, wallet, contract } = this.deps;
    const tx = await reader.send<RpcReceipt | null>('eth_getTransactionReceipt', [input.txHash]);
    if (!tx) throw new LedgerConfigError(`no receipt for tx ${input.txHash}`);
    const block = await reader.send<RpcBlock>('eth_getBlockByHash', [tx.blockHash, false]);
    const receipts = await this.blockReceipts(block);

    const trie = await createMPT();
    for (const r of receipts) await trie.put(getBytes(receiptTrieKey(Number(BigInt(r.transactionIndex)))), getBytes(receiptRlp(r)));
    if (hexlify(trie.root()) !== block.receiptsRoot) {
      throw new LedgerConfigError(`rebuilt receipt trie root ${hexlify(trie.root())} ≠ block ${block.hash} receiptsRoot ${block.receiptsRoot}`);
    }
    const header = headerRlp(block);
    if (keccak256(header) !== block.hash) throw new LedgerConfigError(`rebuilt header of block ${block.hash} hashes to ${keccak256(header)} (unknown fork fields?)`);
    const index = Number(BigInt(tx.transactionIndex));
    const key = getBytes(receiptTrieKey(index));
    const nodes = (await createMerkleProof(trie, key)).map((n) => hexlify(n));

    const id = ledgerAlertId(input.alertKey);
    const pos = await log.positionOf(input.txHash, id);
    const body: ReceiptBody = {
      format: RECEIPT_FORMAT,
      chainId: reader.chainId,
      contract,
      alertKey: input.alertKey,
      event: foldEntryOf(pos.entry),
      position: { eventIndex: pos.index, digestBefore: pos.digestBefore, digestAfter: pos.digestAfter },
      tx: { hash: tx.transactionHash, index },
      block: { number: Number(BigInt(block.number)), hash: block.hash, header },
      proof: { receipt: receiptRlp(receipts.find((r) => Number(BigInt(r.transactionIndex)) === index)!), nodes },
    };
    const receipt: LedgerReceipt = { ...body, signature: { signer: wallet.address, value: await wallet.signMessage(receiptSigningMessage(body)) } };
    await this.deps.store?.put(receipt);
    return receipt;
  }

  private async blockReceipts(block: RpcBlock): Promise<RpcReceipt[]> {
    try {
      const all = await this.deps.reader.send<RpcReceipt[] | null>('eth_getBlockReceipts', [block.hash]);
      if (all && all.length === block.transactions.length) return all;
    } catch {
      // method not found on this node: fall back to one receipt per tx
    }
    const out: RpcReceipt[] = [];
    for (const h of block.transactions) out.push((await this.deps.reader.send<RpcReceipt>('eth_getTransactionReceipt', [h]))!);
    return out;
  }
}
