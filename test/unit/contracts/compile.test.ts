import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFile, copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Interface } from 'ethers';
import { LEDGER_SOURCE_PATH, SOLC_SETTINGS, ensureLedgerArtifact } from '../../../contracts/compile.ts';

const dir = await mkdtemp(join(tmpdir(), 'telemetry-compile-'));
const paths = { sourcePath: join(dir, 'AlertLedger.sol'), artifactPath: join(dir, 'artifacts', 'AlertLedger.json') };
await copyFile(LEDGER_SOURCE_PATH, paths.sourcePath);
after(() => rm(dir, { recursive: true, force: true }));

describe('contract compile step', () => {
  test('compiles when the artifact is missing, with the public ABI the client relies on', async () => {
    const a = await ensureLedgerArtifact(paths);
    assert.equal(a.fromCache, false);
    assert.match(a.solcVersion, /^0\.8\.30\+/);
    assert.equal(a.settings.evmVersion, SOLC_SETTINGS.evmVersion);
    assert.equal(a.sourceSha256, createHash('sha256').update(await readFile(paths.sourcePath)).digest('hex'));
    const iface = new Interface(a.abi as never);
    for (const sig of [
      'recordAlert(bytes32,bytes32,uint8,uint64)',
      'acknowledge(bytes32,bytes32,uint64,uint8)',
      'resolve(bytes32,uint64,bytes32)',
      'grantRecorder(address)',
      'revokeRecorder(address)',
      'isRecorder(address)',
      'getAlert(bytes32)',
      'alertCount()',
      'ledgerHead()',
      'owner()',
    ]) {
      assert.ok(iface.getFunction(sig), sig);
    }
    for (const sig of ['NotOwner()', 'NotRecorder(address)', 'AlertExists(bytes32)', 'UnknownAlert(bytes32)', 'AlreadyAcknowledged(bytes32,address,uint64)', 'AlreadyResolved(bytes32)']) {
      assert.ok(iface.getError(sig), sig);
    }
    for (const name of ['AlertRecorded', 'AlertAcknowledged', 'AlertResolved', 'RecorderGranted', 'RecorderRevoked']) {
      const ev = iface.getEvent(name)!;
      assert.ok(ev.inputs[0]?.indexed, `${name} indexes its id`);
    }
    assert.ok(a.bytecode.length > 1_000 && a.deployedBytecode.startsWith('0x'));
  });

  test('reuses the cached artifact while the source is unchanged', async () => {
    const t = performance.now();
    const b = await ensureLedgerArtifact(paths);
    assert.equal(b.fromCache, true);
    assert.ok(performance.now() - t < 500, 'cache hit must not load solc');
  });

  test('recompiles when the source changes (stale artifact)', async () => {
    const before = await ensureLedgerArtifact(paths);
    await appendFile(paths.sourcePath, '\n// touched\n');
    const c = await ensureLedgerArtifact(paths);
    assert.equal(c.fromCache, false);
    assert.notEqual(c.sourceSha256, before.sourceSha256);
    const onDisk = JSON.parse(await readFile(paths.artifactPath, 'utf8')) as { sourceSha256: string };
    assert.equal(onDisk.sourceSha256, c.sourceSha256);
  });
});
