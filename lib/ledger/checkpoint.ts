/**
 * Ledger checkpoints in the C2SP tlog-checkpoint body format (https://c2sp.org/tlog-checkpoint):
 *   <origin>\n<tree size>\n<base64 root hash>\n[extension lines]
 * Our "tree" is the contract's hash chain: size = eventCount, root = the rolling digest
 * (lib/ledger/ledger-fold.ts). One extension line pins the chain block it was read at:
 *   `block <number> <0x block hash>`.
 * Consistency between two checkpoints of one origin is the fold of the entries between
 * them (a hash-chain "consistency proof"): the witness checks exactly that.
 */
import { getBytes, hexlify } from 'ethers';

export interface Checkpoint {
  origin: string;
  size: number;
  /** 0x + 64 hex (the ledger digest). */
  root: string;
  block?: { number: number; hash: string };
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** `telemetry-stack/ledger/<chainId>/<contract>`: one log per contract version. */
export function ledgerOrigin(chainId: number, contract: string): string {
  return `telemetry-stack/ledger/${chainId}/${contract.toLowerCase()}`;
}

export function formatCheckpoint(c: Checkpoint): string {
  const lines = [c.origin, String(c.size), Buffer.from(getBytes(c.root)).toString('base64')];
  if (c.block) lines.push(`block ${c.block.number} ${c.block.hash.toLowerCase()}`);
  return `${lines.join('\n')}\n`;
}

export function parseCheckpoint(body: string): Checkpoint {
  const lines = body.split('\n');
  if (lines.at(-1) !== '' || lines.length < 4) throw new CheckpointError('checkpoint body needs origin, size and root lines, ending in \\n');
  const [origin, sizeText, rootB64, ...ext] = lines.slice(0, -1) as [string, string, string, ...string[]];
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw new CheckpointError(`checkpoint size ${JSON.stringify(sizeText)} is not a decimal without leading zeros`);
  const root = Buffer.from(rootB64, 'base64');
  if (root.length !== 32 || root.toString('base64') !== rootB64) throw new CheckpointError('checkpoint root must be 32 bytes of standard base64');
  const c: Checkpoint = { origin, size: Number(sizeText), root: hexlify(root) };
  for (const line of ext) {
    const m = /^block (\d+) (0x[0-9a-f]{64})$/.exec(line);
    if (m) c.block = { number: Number(m[1]), hash: m[2]! };
  }
  return c;
}
