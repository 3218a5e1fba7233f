/**
 * Standalone ledger receipts: one JSON document per ack / resolve that proves, without
 * trusting the API or the database that served it,
 *   1. the recorder key signed it (EIP-191 over the canonical JSON of the body) and that key
 *      is the `recorder` the contract logged;
 *   2. the transaction receipt holding the ledger event is in the block: a Merkle-Patricia
 *      proof from the header's `receiptsRoot` down to the RLP receipt, and the header hashes
 *      to the block hash;
 *   3. the event's fold step links `digestBefore` → `digestAfter` at `eventIndex`, so a
 *      checkpoint of the ledger head (lib/ledger/checkpoint.ts) can be shown to cover it.
 * 1–3 are checked offline (`verifyReceiptOffline`); that the block is on the canonical chain
 * needs a node (`verifyReceiptOnline`).
 *
 * Hazard: the proof proves inclusion in a block with that hash. A chain operator can mine a
 * different chain with valid blocks; only the canonical-chain check against a node you trust,
 * or an anchor co-signed by a witness, ties the block to "the" ledger.
 */
import { AbiCoder, concat, decodeRlp, getBytes, hexlify, keccak256, verifyMessage, type RlpStructuredData } from 'ethers';
import { verifyMerkleProof } from '@ethereumjs/mpt';
import { FOLD_KIND, foldStep, type FoldEntry, type FoldKind } from './ledger-fold.ts';
import { jsonRpc } from './json-rpc.ts';

export const RECEIPT_FORMAT = 'telemetry-stack.ledger-receipt/1';

/** Event signatures of AlertLedger.sol (topic0 = keccak256 of these). */
export const LEDGER_EVENT_SIGNATURES: Record<FoldKind, string> = {
  recorded: 'AlertRecorded(bytes32,bytes32,uint8,uint64,address)',
  acknowledged: 'AlertAcknowledged(bytes32,bytes32,uint64,uint8,address)',
  resolved: 'AlertResolved(bytes32,bytes32,uint64,address)',
};

export interface ReceiptBody {
  format: typeof RECEIPT_FORMAT;
  chainId: number;
  contract: string;
  /** Clear-text on-chain key (`<alertId>@<firedAt>`); keccak256 of it is `event.id`. */
  alertKey: string;
  event: FoldEntry;
  /** Position in the ledger's digest chain (0-based) and the digests around this write. */
  position: { eventIndex: number; digestBefore: string; digestAfter: string };
  tx: { hash: string; index: number };
  block: { number: number; hash: string; header: string };
  /** RLP of the (typed) transaction receipt, and the trie nodes from receiptsRoot to it. */
  proof: { receipt: string; nodes: string[] };
}

export interface LedgerReceipt extends ReceiptBody {
  signature: { signer: string; value: string };
}

export class ReceiptVerificationError extends Error {
  override name = 'ReceiptVerificationError';
  constructor(
    /** Which check failed: signature | header | inclusion | event | position | chain | format. */
    readonly check: string,
    message: string,
  ) {
    super(`${check}: ${message}`);
  }
}

/** JSON with object keys sorted at every level: the bytes a signature covers. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** What the recorder signs: a domain-separated digest of the canonical body. */
export function receiptSigningMessage(body: ReceiptBody): Uint8Array {
  return getBytes(keccak256(new TextEncoder().encode(`${RECEIPT_FORMAT}\n${canonicalJson(body)}`)));
}

export function bodyOf(r: LedgerReceipt): ReceiptBody {
  const { signature: _s, ...body } = r;
  return body;
}

const asHex = (x: RlpStructuredData): string => {
  if (typeof x !== 'string') throw new ReceiptVerificationError('format', 'expected an RLP string, got a list');
  return x;
};
const asList = (x: RlpStructuredData): RlpStructuredData[] => {
  if (!Array.isArray(x)) throw new ReceiptVerificationError('format', 'expected an RLP list');
  return x;
};
const num = (hex: string): number => (hex === '0x' ? 0 : Number(BigInt(hex)));

/** Minimal big-endian bytes of an integer for RLP (0 → empty). */
export function rlpInt(v: bigint | number | string): string {
  const n = BigInt(v);
  if (n === 0n) return '0x';
  let h = n.toString(16);
  if (h.length % 2) h = `0${h}`;
  return `0x${h}`;
}

/** Decodes a typed (EIP-2718) or legacy receipt: status and logs. */
export function decodeReceipt(rlpHex: string): { status: number; logs: { address: string; topics: string[]; data: string }[] } {
  const bytes = getBytes(rlpHex);
  const payload = bytes[0]! < 0x80 ? bytes.slice(1) : bytes; // typed receipts start with the type byte
  const fields = asList(decodeRlp(payload));
  const logs = asList(fields[3]!).map((l) => {
    const [address, topics, data] = asList(l);
    return { address: asHex(address!), topics: asList(topics!).map(asHex), data: asHex(data!) };
  });
  return { status: num(asHex(fields[0]!)), logs };
}

/** Header fields needed here: hash check done by the caller; receiptsRoot is field 5, number field 8. */
export function decodeHeader(headerRlp: string): { receiptsRoot: string; number: number } {
  const fields = asList(decodeRlp(headerRlp));
  if (fields.length < 15) throw new ReceiptVerificationError('header', `header has ${fields.length} fields, expected ≥ 15`);
  return { receiptsRoot: asHex(fields[5]!), number: num(asHex(fields[8]!)) };
}

/** The ledger log this receipt is about, checked against the body's event. */
function checkEvent(body: ReceiptBody, logs: { address: string; topics: string[]; data: string }[]): void {
  const e = body.event;
  const topic0 = keccak256(new TextEncoder().encode(LEDGER_EVENT_SIGNATURES[e.kind]));
  const log = logs.find((l) => l.address.toLowerCase() === body.contract.toLowerCase() && l.topics[0] === topic0 && l.topics[1] === e.id);
  if (!log) throw new ReceiptVerificationError('event', `no ${e.kind} log of ${body.contract} for id ${e.id} in the transaction receipt`);
  const coder = AbiCoder.defaultAbiCoder();
  let fields: { dataHash: string; small: number; at: string; recorder: string };
  if (e.kind === 'recorded') {
    const [severity, raisedAt, recorder] = coder.decode(['uint8', 'uint64', 'address'], log.data);
    fields = { dataHash: log.topics[2]!, small: Number(severity), at: String(raisedAt), recorder: String(recorder) };
  } else if (e.kind === 'acknowledged') {
    const [ackedAt, channel, recorder] = coder.decode(['uint64', 'uint8', 'address'], log.data);
    fields = { dataHash: log.topics[2]!, small: Number(channel), at: String(ackedAt), recorder: String(recorder) };
  } else {
    const [reasonHash, resolvedAt, recorder] = coder.decode(['bytes32', 'uint64', 'address'], log.data);
    fields = { dataHash: String(reasonHash), small: 0, at: String(resolvedAt), recorder: String(recorder) };
  }
  for (const k of ['dataHash', 'small', 'at'] as const) {
    if (String(fields[k]).toLowerCase() !== String(e[k]).toLowerCase()) {
      throw new ReceiptVerificationError('event', `event.${k} is ${e[k]} in the receipt JSON but ${fields[k]} in the proven log`);
    }
  }
  if (fields.recorder.toLowerCase() !== e.recorder.toLowerCase()) throw new ReceiptVerificationError('event', `event.recorder ${e.recorder} ≠ logged recorder ${fields.recorder}`);
  if (keccak256(new TextEncoder().encode(body.alertKey)) !== e.id) throw new ReceiptVerificationError('event', `keccak256(alertKey) ≠ event.id`);
}

export interface OfflineResult {
  signer: string;
  blockNumber: number;
  blockHash: string;
}

/** Signature, header hash, receipt-trie inclusion, event fields and fold step: no network. */
export async function verifyReceiptOffline(r: LedgerReceipt): Promise<OfflineResult> {
  if (r.format !== RECEIPT_FORMAT) throw new ReceiptVerificationError('format', `unknown format ${String(r.format)}`);
  if (!(r.event?.kind in FOLD_KIND)) throw new ReceiptVerificationError('format', `unknown event kind ${String(r.event?.kind)}`);
  // 1. signature by the recorder that the contract logged
  let signer: string;
  try {
    signer = verifyMessage(receiptSigningMessage(bodyOf(r)), r.signature.value);
  } catch (err) {
    throw new ReceiptVerificationError('signature', `unreadable signature: ${(err as Error).message}`);
  }
  if (signer.toLowerCase() !== r.signature.signer.toLowerCase()) throw new ReceiptVerificationError('signature', `signed by ${signer}, not by ${r.signature.signer}`);
  if (signer.toLowerCase() !== r.event.recorder.toLowerCase()) throw new ReceiptVerificationError('signature', `signer ${signer} is not the event's recorder ${r.event.recorder}`);
  // 2. header → block hash, receiptsRoot → receipt
  if (keccak256(r.block.header) !== r.block.hash) throw new ReceiptVerificationError('header', `header does not hash to block ${r.block.hash}`);
  const header = decodeHeader(r.block.header);
  if (header.number !== r.block.number) throw new ReceiptVerificationError('header', `header number ${header.number} ≠ block.number ${r.block.number}`);
  const nodes = r.proof.nodes.map((n) => getBytes(n));
  if (nodes.length === 0 || keccak256(nodes[0]!) !== header.receiptsRoot) throw new ReceiptVerificationError('inclusion', `proof root is not the header's receiptsRoot ${header.receiptsRoot}`);
  let value: Uint8Array | null;
  try {
    value = await verifyMerkleProof(getBytes(receiptTrieKey(r.tx.index)), nodes, { root: getBytes(header.receiptsRoot) });
  } catch (err) {
    throw new ReceiptVerificationError('inclusion', `invalid receipt-trie proof: ${(err as Error).message}`);
  }
  if (!value || hexlify(value) !== r.proof.receipt.toLowerCase()) throw new ReceiptVerificationError('inclusion', `the proof does not lead to this receipt at tx index ${r.tx.index}`);
  const receipt = decodeReceipt(r.proof.receipt);
  if (receipt.status !== 1) throw new ReceiptVerificationError('inclusion', 'the transaction reverted (status 0)');
  // 3. the event and its place in the digest chain
  checkEvent(r, receipt.logs);
  if (foldStep(r.position.digestBefore, r.event) !== r.position.digestAfter) {
    throw new ReceiptVerificationError('position', `fold(digestBefore, event) ≠ digestAfter at event #${r.position.eventIndex}`);
  }
  return { signer, blockNumber: r.block.number, blockHash: r.block.hash };
}

/** Trie key of a receipt: RLP of its transaction index. */
export function receiptTrieKey(index: number): string {
  // RLP of a single integer: 0 → 0x80, < 0x80 → the byte itself, else 0x80+len ‖ bytes.
  if (index === 0) return '0x80';
  if (index < 0x80) return rlpInt(index);
  const b = rlpInt(index);
  return concat([new Uint8Array([0x80 + (b.length - 2) / 2]), b]);
}

const rpc = <T>(rpcUrl: string, method: string, params: unknown[]): Promise<T> => jsonRpc<T>(rpcUrl, method, params, 10_000);

export interface OnlineResult extends OfflineResult {
  confirmations: number;
}

/** Offline checks, then: same chain id, and the node's canonical block at that height is this block. */
export async function verifyReceiptOnline(r: LedgerReceipt, rpcUrl: string): Promise<OnlineResult> {
  const offline = await verifyReceiptOffline(r);
  const chainId = Number(BigInt(await rpc<string>(rpcUrl, 'eth_chainId', [])));
  if (chainId !== r.chainId) throw new ReceiptVerificationError('chain', `node is chain ${chainId}, receipt is for chain ${r.chainId}`);
  const block = await rpc<{ hash: string } | null>(rpcUrl, 'eth_getBlockByNumber', [`0x${r.block.number.toString(16)}`, false]);
  if (!block) throw new ReceiptVerificationError('chain', `the node has no block ${r.block.number} (a shorter, rebuilt chain?)`);
  if (block.hash.toLowerCase() !== r.block.hash.toLowerCase()) {
    throw new ReceiptVerificationError('chain', `block ${r.block.number} on the node is ${block.hash}, not ${r.block.hash}: the chain was rewritten or this is another chain`);
  }
  const head = Number(BigInt(await rpc<string>(rpcUrl, 'eth_blockNumber', [])));
  return { ...offline, confirmations: head - r.block.number + 1 };
}
