/**
 * A real go-ethereum node in dev mode (`geth --dev --dev.period 0`: chain id 1337, a block
 * per pending tx, fully offline) as the alternative ledger chain to anvil.
 *
 * geth's dev account is unlocked inside the node but its key is not ours, and ethers signs
 * locally. So a recorder key is generated once, kept in `<dataDir>/ledger-signer.key`
 * (mode 0600, reused across restarts so it stays the contract owner), and funded from the
 * dev account with `eth_sendTransaction` whenever its balance runs low.
 *
 * Build the binary with infra/scripts/build-geth.sh (cached in ~/.cache/telemetry-stack/bin).
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { isExecutable, onPath } from './binaries.ts';
import { readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { ChainStartError, OutputTail, rpcCall, stopChild, waitForRpc, type ChainNode } from './chain.ts';

export const GETH_DEV_CHAIN_ID = 1_337;
/** Top up below 10 ETH, to 100 ETH (wei). Dev-chain ether, worthless. */
const MIN_BALANCE_WEI = 10n * 10n ** 18n;
const FUND_WEI = 100n * 10n ** 18n;
const FUND_TIMEOUT_MS = 30_000;

export interface StartGethDevInput {
  port: number;
  /** geth datadir (chain + dev keystore) and the signer key file. */
  dataDir: string;
  /** Explicit binary; else ~/.cache/telemetry-stack/bin/geth, else `geth` on PATH. */
  bin?: string;
  /** Extra CLI flags. */
  args?: string[];
}

export interface GethDevNode extends ChainNode {
  /** Funded key that ethers signs with (development only). */
  privateKey: string;
  signerAddress: string;
  /** geth's own unlocked dev account. */
  devAccount: string;
}

/** Default cached location written by infra/scripts/build-geth.sh. */
export const GETH_CACHE_BIN = join(homedir(), '.cache', 'telemetry-stack', 'bin', 'geth');

/** opts.bin → the build cache → PATH; undefined when none is executable. */
export function findGeth(bin?: string): string | undefined {
  if (bin) return isExecutable(bin) ? bin : undefined;
  if (isExecutable(GETH_CACHE_BIN)) return GETH_CACHE_BIN;
  return onPath('geth');
}

async function loadOrCreateSigner(dataDir: string): Promise<Wallet> {
  const keyPath = join(dataDir, 'ledger-signer.key');
  try {
    return new Wallet((await readFile(keyPath, 'utf8')).trim());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const wallet = Wallet.createRandom();
  await writeFile(keyPath, `${wallet.privateKey}\n`, { mode: 0o600 });
  return new Wallet(wallet.privateKey);
}

async function fundIfLow(rpcUrl: string, from: string, to: string): Promise<void> {
  const balance = BigInt(await rpcCall<string>(rpcUrl, 'eth_getBalance', [to, 'latest']));
  if (balance >= MIN_BALANCE_WEI) return;
  const hash = await rpcCall<string>(rpcUrl, 'eth_sendTransaction', [{ from, to, value: `0x${FUND_WEI.toString(16)}` }]);
  const deadline = Date.now() + FUND_TIMEOUT_MS;
  while (Date.now() < deadline) {
    // Right after start geth may answer "transaction indexing is in progress" instead of null: not mined yet, poll on.
    const receipt = await rpcCall<{ status: string } | null>(rpcUrl, 'eth_getTransactionReceipt', [hash]).catch((err: Error) => {
      if (/indexing is in progress/i.test(err.message)) return null;
      throw err;
    });
    if (receipt) {
      if (receipt.status !== '0x1') throw new ChainStartError(`funding tx ${hash} failed`);
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new ChainStartError(`funding tx ${hash} not mined within ${FUND_TIMEOUT_MS} ms`);
}

export async function startGethDev(input: StartGethDevInput): Promise<GethDevNode> {
  const bin = findGeth(input.bin);
  if (!bin) {
    throw new ChainStartError(
      `geth not found (${input.bin ?? `${GETH_CACHE_BIN} or PATH`}); build it with infra/scripts/build-geth.sh`,
    );
  }
  mkdirSync(input.dataDir, { recursive: true });
  const args = [
    '--dev',
    '--dev.period', '0',
    '--http',
    '--http.addr', '127.0.0.1',
    '--http.port', String(input.port),
    '--http.api', 'eth,net,web3',
    '--ipcdisable',
    // No p2p, no discovery: a private single-node chain that touches no network.
    '--nodiscover',
    '--maxpeers', '0',
    '--port', '0',
    '--authrpc.port', '0',
    '--datadir', input.dataDir,
    ...(input.args ?? []),
  ];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = new OutputTail(30);
  child.stdout?.on('data', (c: Buffer) => tail.push(c));
  child.stderr?.on('data', (c: Buffer) => tail.push(c));
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err) => reject(new ChainStartError(`cannot start ${bin}: ${err.message}`, { cause: err }))),
  );
  const rpcUrl = `http://127.0.0.1:${input.port}`;
  try {
    const chainId = await Promise.race([waitForRpc(rpcUrl, child, tail, `geth --dev (${bin})`, 60_000), spawnError]);
    const [devAccount] = await rpcCall<string[]>(rpcUrl, 'eth_accounts');
    if (!devAccount) throw new ChainStartError(`geth --dev on ${rpcUrl} exposes no dev account`);
    const signer = await loadOrCreateSigner(input.dataDir);
    await fundIfLow(rpcUrl, devAccount, signer.address);
    return {
      rpcUrl,
      chainId,
      pid: child.pid ?? -1,
      privateKey: signer.privateKey,
      signerAddress: signer.address,
      devAccount,
      stop: () => stopChild(child),
    };
  } catch (err) {
    await stopChild(child);
    if (err instanceof ChainStartError) throw err;
    throw new ChainStartError(`geth --dev on ${rpcUrl} failed to start: ${(err as Error).message}. Last output:\n${tail}`, { cause: err });
  }
}
