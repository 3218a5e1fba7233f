/**
 * Test harness for the ledger integration tests: free ports, temp dirs, an anvil per test
 * file, a deployed AlertLedger and connected clients. Not a test file itself.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Contract, JsonRpcProvider, Network, Wallet } from 'ethers';
import { loadLedgerArtifact } from '../../../contracts/compile.ts';
import { LedgerClient, deployLedger } from '../../../activities/ledger/ledger-client.ts';
import { ANVIL_CHAIN_ID, ANVIL_DEV_KEY, startAnvil, type ChainNode } from '../../../infra/stack/chain.ts';

/** anvil dev accounts #1 and #2 (public test mnemonic), used as non-owner callers. */
export const ANVIL_KEY_1 = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
export const ANVIL_KEY_2 = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9ecb4c4f28f72';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `telemetry-${prefix}-`));
}

export interface AnvilLedger {
  node: ChainNode;
  port: number;
  dataDir: string;
  address: string;
  deployTx: string;
  deployBlock: number;
  /** Client signing with the owner key (anvil dev #0). */
  client: LedgerClient;
  provider: JsonRpcProvider;
  /** Raw ethers contract bound to a wallet (owner by default). */
  contractAs(privateKey: string): Contract;
  cleanup(): Promise<void>;
}

/** Starts anvil on a free port (persistent state in a temp dir when `persist`), deploys AlertLedger. */
export async function startAnvilLedger(opts: { persist?: boolean } = {}): Promise<AnvilLedger> {
  const port = await freePort();
  const dataDir = await tempDir('anvil');
  const node = await startAnvil({ port, dataDir, persist: opts.persist ?? false });
  const artifact = await loadLedgerArtifact();
  const d = await deployLedger({ rpcUrl: node.rpcUrl, privateKey: ANVIL_DEV_KEY });
  const client = await LedgerClient.connect({ rpcUrl: node.rpcUrl, privateKey: ANVIL_DEV_KEY, address: d.address, fromBlock: d.blockNumber });
  const network = Network.from(ANVIL_CHAIN_ID);
  const provider = new JsonRpcProvider(node.rpcUrl, network, { staticNetwork: network, cacheTimeout: -1 });
  return {
    node,
    port,
    dataDir,
    address: d.address,
    deployTx: d.txHash,
    deployBlock: d.blockNumber,
    client,
    provider,
    contractAs: (key) => new Contract(d.address, artifact.abi as never, new Wallet(key, provider)),
    async cleanup() {
      client.close();
      provider.destroy();
      await node.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** p-th percentile (0..100) of a list of numbers, nearest-rank. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? NaN;
}
