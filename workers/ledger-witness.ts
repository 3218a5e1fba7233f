/**
 * The ledger witness: an independent process with its OWN key and its own state volume.
 * It co-signs a ledger checkpoint only when it is a consistent successor of the last one it
 * co-signed (lib/ledger/witness.ts), so a chain operator who rebuilds the chain cannot get a
 * second, different history co-signed. Run it where the chain operator has no write access.
 */
import { join, resolve } from 'node:path';
import { loadConfig, type Config } from '../lib/config.ts';
import { createLogger } from '../lib/logger.ts';
import { resolveSignerKey } from '../lib/ledger/note-keys.ts';
import { parseVerifierKey, SIG_TYPE_COSIGNATURE_V1, verifierKeyOf } from '../lib/ledger/signed-note.ts';
import { FileWitnessStore, Witness } from '../lib/ledger/witness.ts';
import { createWitnessServer } from '../lib/ledger/witness-server.ts';
import { onShutdownSignal, runMain } from './shared.ts';

export async function run(cfg: Config = loadConfig()): Promise<void> {
  const logger = createLogger(cfg.LOG_LEVEL, 'ledger-witness');
  if (!cfg.WITNESS_LOG_KEYS) throw new Error('WITNESS_LOG_KEYS is required: the log verifier key(s) this witness accepts');
  const dataDir = resolve(cfg.WITNESS_DATA_DIR);
  const signer = resolveSignerKey({
    key: cfg.WITNESS_KEY,
    file: cfg.WITNESS_KEY_FILE,
    devFile: join(dataDir, 'witness.key'),
    devName: cfg.WITNESS_NAME,
    type: SIG_TYPE_COSIGNATURE_V1,
    production: cfg.NODE_ENV === 'production',
  });
  const logs = cfg.WITNESS_LOG_KEYS.split(',').map(parseVerifierKey);
  const witness = new Witness(signer, logs, new FileWitnessStore(dataDir));
  const server = createWitnessServer(witness, verifierKeyOf(signer), logger);
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(cfg.WITNESS_PORT, cfg.WITNESS_HOST, () => ok()));
  logger.info({ host: cfg.WITNESS_HOST, port: cfg.WITNESS_PORT, key: verifierKeyOf(signer), logs: logs.map((l) => l.name) }, 'ledger witness listening');
  await new Promise<void>((done) => onShutdownSignal(() => server.close(() => done())));
}

runMain(import.meta.url, () => run());
