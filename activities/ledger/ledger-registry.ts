/**
 * The ledger address registry: every AlertLedger version ever deployed on a chain, kept in
 * the JetStream KV bucket `ledger_registry` (key `chain.<chainId>`), so a worker with an
 * empty data dir (a new pod's emptyDir) finds the same contract, and a new contract version
 * is added BESIDE the old ones: the audit reads them all.
 *
 * Why JetStream KV and not a Kubernetes ConfigMap: every process that needs it (alerts
 * worker, API, CLI) already talks to NATS, JetStream replicates it like the telemetry
 * stream, and writing it needs no Kubernetes RBAC in the worker. Helm can still pin the
 * current address (`ledger.address` → LEDGER_ADDRESS) and list older ones
 * (`ledger.previousAddresses` → LEDGER_PREVIOUS_ADDRESSES) for a read-only API.
 *
 * Invariants: versions are only appended, never removed or rewritten (a compare-and-set on
 * the KV revision makes a concurrent append retry on the fresh value instead of dropping
 * it); at most MAX_LEDGER_VERSIONS per chain, so the value stays far below max_payload.
 */
import type { KV, NatsConnection } from 'nats';
import type { LedgerDeployment } from './ledger-deployment.ts';

export const LEDGER_REGISTRY_BUCKET = 'ledger_registry';
/** Bound on versions per chain (one per contract upgrade; 64 upgrades is years of them). */
export const MAX_LEDGER_VERSIONS = 64;
const CAS_ATTEMPTS = 5;

export class LedgerRegistryError extends Error {
  override name = 'LedgerRegistryError';
  constructor(
    message: string,
    readonly chainId: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface RegistryEntry {
  /** Oldest first. */
  versions: LedgerDeployment[];
}

/** Where the deployments of each chain are kept; the KV implementation is below. */
export interface LedgerRegistry {
  /** Every version on `chainId`, oldest first (empty when none). */
  versions(chainId: number): Promise<LedgerDeployment[]>;
  /**
   * Appends `d` unless its address is already listed; returns the versions after the append.
   * Safe against concurrent appends (compare-and-set).
   */
  append(d: LedgerDeployment): Promise<LedgerDeployment[]>;
}

const keyOf = (chainId: number): string => `chain.${chainId}`;

function parseEntry(raw: string, chainId: number): RegistryEntry {
  try {
    const v = JSON.parse(raw) as RegistryEntry;
    if (!Array.isArray(v.versions)) throw new Error('no versions array');
    return v;
  } catch (err) {
    throw new LedgerRegistryError(`ledger registry entry ${keyOf(chainId)} is not valid JSON: ${(err as Error).message}`, chainId, { cause: err });
  }
}

export class KvLedgerRegistry implements LedgerRegistry {
  private constructor(private readonly kv: KV) {}

  /** Opens (creating when missing) the bucket. `replicas` = STREAM_REPLICAS. */
  static async open(nc: NatsConnection, replicas = 1): Promise<KvLedgerRegistry> {
    const kv = await nc.jetstream().views.kv(LEDGER_REGISTRY_BUCKET, { history: 64, replicas });
    return new KvLedgerRegistry(kv);
  }

  async versions(chainId: number): Promise<LedgerDeployment[]> {
    const e = await this.kv.get(keyOf(chainId));
    if (!e || e.operation !== 'PUT' || e.value.length === 0) return [];
    return parseEntry(e.string(), chainId).versions;
  }

  async append(d: LedgerDeployment): Promise<LedgerDeployment[]> {
    const key = keyOf(d.chainId);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const e = await this.kv.get(key);
      const current = e && e.operation === 'PUT' && e.value.length > 0 ? parseEntry(e.string(), d.chainId).versions : [];
      if (current.some((v) => v.address.toLowerCase() === d.address.toLowerCase())) return current;
      if (current.length >= MAX_LEDGER_VERSIONS) {
        throw new LedgerRegistryError(`chain ${d.chainId} already has ${MAX_LEDGER_VERSIONS} ledger versions; refusing to add ${d.address}`, d.chainId);
      }
      const next: RegistryEntry = { versions: [...current, { deployedAt: new Date().toISOString(), ...d }] };
      try {
        if (e) await this.kv.update(key, JSON.stringify(next), e.revision);
        else await this.kv.create(key, JSON.stringify(next));
        return next.versions;
      } catch (err) {
        // Wrong last sequence / key exists: someone appended meanwhile; re-read and retry.
        if (!/wrong last sequence|key exists|10071/i.test((err as Error).message ?? '')) throw err;
      }
    }
    throw new LedgerRegistryError(`ledger registry ${key}: ${CAS_ATTEMPTS} concurrent updates in a row; retry`, d.chainId);
  }
}
