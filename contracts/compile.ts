/**
 * Compiles contracts/AlertLedger.sol with npm `solc` (soljson, no compiler download)
 * into contracts/artifacts/AlertLedger.json.
 *
 * The artifact is git-ignored and rebuilt on demand: `loadLedgerArtifact()` recompiles
 * whenever the artifact is missing or its cache key (source sha256 + settings + solc
 * version) differs, so a fresh clone needs no manual step. `npx tsx contracts/compile.ts`
 * (npm run build:contracts) does the same eagerly; `--force` ignores the cache.
 *
 * Hazard: several test processes may compile at once; the artifact is written to a
 * temp file and renamed, so a reader never sees a half-written JSON.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const CONTRACTS_DIR = dirname(fileURLToPath(import.meta.url));
export const LEDGER_SOURCE_PATH = join(CONTRACTS_DIR, 'AlertLedger.sol');
export const LEDGER_ARTIFACT_PATH = join(CONTRACTS_DIR, 'artifacts', 'AlertLedger.json');
const CONTRACT_NAME = 'AlertLedger';

/**
 * `cancun` runs on both anvil (default hardfork prague) and geth --dev (follows mainnet
 * forks); solc 0.8.30 would default to `prague`, which older private chains reject.
 */
export const SOLC_SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
} as const;

export interface LedgerArtifact {
  contractName: string;
  abi: unknown[];
  /** Creation bytecode, 0x-prefixed. */
  bytecode: string;
  /** Runtime bytecode, 0x-prefixed (compare with eth_getCode to verify a deployment). */
  deployedBytecode: string;
  solcVersion: string;
  sourceSha256: string;
  settings: typeof SOLC_SETTINGS;
  /** sha256 of source + settings + compiler package version: the cache key. */
  cacheKey: string;
}

export class ContractCompileError extends Error {
  override name = 'ContractCompileError';
  constructor(
    message: string,
    readonly diagnostics: string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

async function solcPackageVersion(): Promise<string> {
  // The package.json version pins the bundled soljson; reading it avoids loading the
  // 8 MB compiler when the cache is valid.
  const pkgPath = fileURLToPath(import.meta.resolve('solc/package.json'));
  return (JSON.parse(await readFile(pkgPath, 'utf8')) as { version: string }).version;
}

async function expectedCacheKey(source: string): Promise<{ sourceSha256: string; cacheKey: string }> {
  const sourceSha256 = sha256(source);
  const cacheKey = sha256(JSON.stringify({ sourceSha256, settings: SOLC_SETTINGS, solc: await solcPackageVersion() }));
  return { sourceSha256, cacheKey };
}

async function readArtifact(artifactPath: string): Promise<LedgerArtifact | undefined> {
  try {
    return JSON.parse(await readFile(artifactPath, 'utf8')) as LedgerArtifact;
  } catch {
    return undefined; // missing or unreadable: recompile
  }
}

interface SolcOutput {
  errors?: { severity: 'error' | 'warning' | 'info'; formattedMessage: string }[];
  contracts?: Record<
    string,
    Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>
  >;
}

/** Source and artifact locations; overridable for tests. */
export interface LedgerPaths {
  sourcePath: string;
  artifactPath: string;
}
const DEFAULT_PATHS: LedgerPaths = { sourcePath: LEDGER_SOURCE_PATH, artifactPath: LEDGER_ARTIFACT_PATH };

/** Compiles unconditionally and writes the artifact. */
export async function compileLedger(paths: LedgerPaths = DEFAULT_PATHS): Promise<LedgerArtifact> {
  const source = await readFile(paths.sourcePath, 'utf8');
  const { sourceSha256, cacheKey } = await expectedCacheKey(source);
  const { default: solc } = await import('solc');
  const input = {
    language: 'Solidity',
    sources: { 'AlertLedger.sol': { content: source } },
    settings: {
      ...SOLC_SETTINGS,
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error').map((e) => e.formattedMessage);
  if (errors.length > 0) throw new ContractCompileError(`AlertLedger.sol failed to compile:\n${errors.join('\n')}`, errors);
  const contract = output.contracts?.['AlertLedger.sol']?.[CONTRACT_NAME];
  if (!contract) throw new ContractCompileError('solc produced no AlertLedger contract', []);
  const artifact: LedgerArtifact = {
    contractName: CONTRACT_NAME,
    abi: contract.abi,
    bytecode: `0x${contract.evm.bytecode.object}`,
    deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
    solcVersion: solc.version(),
    sourceSha256,
    settings: SOLC_SETTINGS,
    cacheKey,
  };
  await mkdir(dirname(paths.artifactPath), { recursive: true });
  const tmp = `${paths.artifactPath}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, `${JSON.stringify(artifact, null, 2)}\n`);
  await rename(tmp, paths.artifactPath);
  return artifact;
}

/** Reads the artifact when its cache key matches the source, else compiles. Not memoised. */
export async function ensureLedgerArtifact(paths: LedgerPaths = DEFAULT_PATHS): Promise<LedgerArtifact & { fromCache: boolean }> {
  const source = await readFile(paths.sourcePath, 'utf8');
  const { cacheKey } = await expectedCacheKey(source);
  const cached = await readArtifact(paths.artifactPath);
  if (cached?.cacheKey === cacheKey && cached.bytecode.length > 2) return { ...cached, fromCache: true };
  return { ...(await compileLedger(paths)), fromCache: false };
}

let memo: Promise<LedgerArtifact> | undefined;

/**
 * The current artifact (see ensureLedgerArtifact), memoised per process: the source does
 * not change under a running process.
 */
export function loadLedgerArtifact(): Promise<LedgerArtifact> {
  memo ??= ensureLedgerArtifact().catch((err: unknown) => {
    memo = undefined; // let a later call retry
    throw err;
  });
  return memo;
}

async function main(): Promise<void> {
  const force = process.argv.includes('--force');
  const t0 = performance.now();
  const artifact = force ? await compileLedger() : await loadLedgerArtifact();
  const ms = Math.round(performance.now() - t0);
  console.log(
    `${artifact.contractName}: solc ${artifact.solcVersion}, ${(artifact.bytecode.length - 2) / 2} bytes creation code, ` +
      `source sha256 ${artifact.sourceSha256.slice(0, 12)}…, ${ms} ms → ${LEDGER_ARTIFACT_PATH}`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
