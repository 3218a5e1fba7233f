/**
 * Where the ledger contract lives: `.data/ledger.json` (per chain id) and `ensureLedger`,
 * which deploys once per chain and re-deploys only when the saved address has no code on
 * the chain it is talking to (a fresh anvil) or the contract source changed.
 *
 * Hazard: the worker and the API may start at the same time; a lock file makes the
 * check-deploy-save step exclusive so they cannot deploy two ledgers.
 */
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../lib/logger.ts';
import { loadLedgerArtifact } from '../../contracts/compile.ts';
import { LedgerConfigError, LedgerUnavailableError, errorText } from './ledger-errors.ts';
import { LedgerClient, deployLedger, type LedgerConnectOptions } from './ledger-client.ts';
import type { LedgerRegistry } from './ledger-registry.ts';

export const LEDGER_FILE = 'ledger.json';
const LOCK_FILE = 'ledger.json.lock';
const LOCK_WAIT_MS = 60_000;
/** A lock older than this is a crashed process's leftover. */
const LOCK_STALE_MS = 120_000;

export interface LedgerDeployment {
  address: string;
  chainId: number;
  deployTx: string;
  /** Block of the deploy tx; lower bound for event-log scans. */
  deployBlock?: number;
  /** sha256 of AlertLedger.sol that was deployed. */
  sourceSha256?: string;
  deployedAt?: string;
}

interface LedgerFile {
  version: 1;
  /** Keyed by chain id, so switching between anvil (31337) and geth --dev (1337) keeps both. */
  chains: Record<string, LedgerDeployment>;
  /** Chain id written last (what `loadLedgerAddress(dir)` returns without a chain id). */
  last?: string;
}

async function readLedgerFile(dataDir: string): Promise<LedgerFile> {
  try {
    const parsed = JSON.parse(await readFile(join(dataDir, LEDGER_FILE), 'utf8')) as Partial<LedgerFile> & Partial<LedgerDeployment>;
    if (parsed.chains) return { version: 1, chains: parsed.chains, ...(parsed.last ? { last: parsed.last } : {}) };
    // Flat single-deployment shape (hand-written file): accept it.
    if (parsed.address && parsed.chainId) {
      return { version: 1, chains: { [String(parsed.chainId)]: parsed as LedgerDeployment }, last: String(parsed.chainId) };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { version: 1, chains: {} };
}

/** Saves (or replaces) the deployment for its chain id in `<dataDir>/ledger.json`. */
export async function persistLedgerAddress(dataDir: string, deployment: LedgerDeployment): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const file = await readLedgerFile(dataDir);
  file.chains[String(deployment.chainId)] = { deployedAt: new Date().toISOString(), ...deployment };
  file.last = String(deployment.chainId);
  const path = join(dataDir, LEDGER_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(file, null, 2)}\n`);
  await rename(tmp, path);
}

/** The saved deployment for `chainId` (or the last saved one), undefined when none. */
export async function loadLedgerAddress(dataDir: string, chainId?: number): Promise<LedgerDeployment | undefined> {
  const file = await readLedgerFile(dataDir);
  const key = chainId === undefined ? file.last : String(chainId);
  return key ? file.chains[key] : undefined;
}

/**
 * The version a writer uses: the FIRST registered one built from this source that still has
 * code on the chain. "First", so two workers that deployed concurrently both settle on the
 * same contract; "has code", so a dev chain that was reset is not mistaken for the ledger.
 */
async function liveVersionOf(versions: LedgerDeployment[], sourceSha256: string, rpcUrl: string): Promise<LedgerDeployment | undefined> {
  for (const v of versions) {
    if (v.sourceSha256 && v.sourceSha256 !== sourceSha256) continue;
    if (await hasCode(rpcUrl, v.address)) return v;
  }
  return undefined;
}

async function withLock<T>(dataDir: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(dataDir, { recursive: true });
  const lockPath = join(dataDir, LOCK_FILE);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fh = await open(lockPath, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(lockPath).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > LOCK_STALE_MS) {
        await rm(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new LedgerConfigError(`timed out waiting for ${lockPath} (remove it if no process holds it)`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}

export interface EnsureLedgerInput {
  rpcUrl: string;
  privateKey: string;
  /** Folder of ledger.json (the stack's DATA_DIR). */
  dataDir: string;
  /** Explicit address (LEDGER_ADDRESS): used as is, never re-deployed; must hold code. */
  address?: string;
  logger?: Logger;
  /** Passed through to LedgerClient.connect. */
  client?: Pick<LedgerConnectOptions, 'requestTimeoutMs' | 'receiptTimeoutMs'>;
  /**
   * Shared registry of deployed versions (JetStream KV), consulted BEFORE ledger.json and
   * before deploying, so a process with an empty data dir reuses the same contract.
   */
  registry?: LedgerRegistry;
}

export interface EnsureLedgerResult {
  ledger: LedgerClient;
  deployment: LedgerDeployment;
  /** True when this call deployed a new contract. */
  deployed: boolean;
}

async function hasCode(rpcUrl: string, address: string): Promise<boolean> {
  try {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getCode', params: [address, 'latest'] }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as { result?: string };
    return typeof body.result === 'string' && body.result !== '0x';
  } catch (err) {
    throw new LedgerUnavailableError(`chain node ${rpcUrl} unreachable: ${errorText(err)}`, { cause: err });
  }
}

/**
 * Returns a connected client for this chain, deploying AlertLedger first when needed.
 * With an explicit `address` nothing is deployed (a missing contract is a config error).
 */
export async function ensureLedger(input: EnsureLedgerInput): Promise<EnsureLedgerResult> {
  const { rpcUrl, privateKey, dataDir, logger } = input;
  const connect = (d: LedgerDeployment) =>
    LedgerClient.connect({ rpcUrl, privateKey, address: d.address, chainId: d.chainId, fromBlock: d.deployBlock ?? 0, logger, ...input.client });
  const chainRes = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    signal: AbortSignal.timeout(10_000),
  }).catch((err: unknown) => {
    throw new LedgerUnavailableError(`chain node ${rpcUrl} unreachable: ${errorText(err)}`, { cause: err });
  });
  const chainId = Number(BigInt(((await chainRes.json()) as { result: string }).result));

  if (input.address) {
    if (!(await hasCode(rpcUrl, input.address))) {
      throw new LedgerConfigError(`LEDGER_ADDRESS ${input.address} has no code on chain ${chainId} (${rpcUrl})`);
    }
    const same = (d: LedgerDeployment | undefined) => (d?.address.toLowerCase() === input.address!.toLowerCase() ? d : undefined);
    const known = same(await loadLedgerAddress(dataDir, chainId)) ?? (input.registry ? (await input.registry.versions(chainId)).find((d) => same(d)) : undefined);
    const deployment: LedgerDeployment = known ?? { address: input.address, chainId, deployTx: '' };
    // A pinned address is still listed in the registry, so read-only auditors find it.
    await input.registry?.append(deployment);
    return { ledger: await connect(deployment), deployment, deployed: false };
  }

  const { sourceSha256 } = await loadLedgerArtifact();
  const registry = input.registry;
  return withLock(dataDir, async () => {
    const registered = registry ? await liveVersionOf(await registry.versions(chainId), sourceSha256, rpcUrl) : undefined;
    const saved = registered ?? (await loadLedgerAddress(dataDir, chainId));
    if (saved) {
      const live = await hasCode(rpcUrl, saved.address);
      const sameSource = !saved.sourceSha256 || saved.sourceSha256 === sourceSha256;
      if (live && sameSource) {
        // Seed the registry from a ledger.json written before it existed, and the file from the registry.
        if (registry && !registered) await registry.append(saved);
        if (registered) await persistLedgerAddress(dataDir, saved);
        return { ledger: await connect(saved), deployment: saved, deployed: false };
      }
      logger?.warn(
        { address: saved.address, chainId, live, sameSource },
        live ? 'AlertLedger source changed; deploying a new ledger (the old one keeps its records)' : 'saved AlertLedger has no code on this chain; re-deploying',
      );
    }
    const d = await deployLedger({ rpcUrl, privateKey });
    let deployment: LedgerDeployment = { address: d.address, chainId: d.chainId, deployTx: d.txHash, deployBlock: d.blockNumber, sourceSha256 };
    if (registry) {
      // Another worker (other data dir, so not behind our file lock) may have deployed meanwhile:
      // the registry's newest entry wins, ours stays listed (it holds no records).
      const winner = await liveVersionOf(await registry.append(deployment), sourceSha256, rpcUrl);
      if (winner && winner.address.toLowerCase() !== deployment.address.toLowerCase()) {
        logger?.warn({ ours: deployment.address, winner: winner.address }, 'another process deployed AlertLedger at the same time; using its contract');
        deployment = winner;
      }
    }
    await persistLedgerAddress(dataDir, deployment);
    logger?.info({ address: d.address, chainId: d.chainId, tx: d.txHash }, 'AlertLedger deployed');
    return { ledger: await connect(deployment), deployment, deployed: deployment.address === d.address };
  });
}
