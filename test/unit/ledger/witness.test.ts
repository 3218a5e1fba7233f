/** The witness co-signs only consistent successors: rollback, fork, wrong entries are refused; state persists. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keccak256, toUtf8Bytes } from 'ethers';
import { generateSignerKey, openNote, parseSignerKey, parseVerifierKey, signNote, verifierKeyOf, SIG_TYPE_COSIGNATURE_V1 } from '../../../lib/ledger/signed-note.ts';
import { formatCheckpoint } from '../../../lib/ledger/checkpoint.ts';
import { foldAll, type FoldEntry } from '../../../lib/ledger/ledger-fold.ts';
import { FileWitnessStore, Witness, WitnessRefusal, MAX_ENTRIES_PER_REQUEST } from '../../../lib/ledger/witness.ts';

const log = parseSignerKey(generateSignerKey('ledger.test'));
const wkey = parseSignerKey(generateSignerKey('witness.test', SIG_TYPE_COSIGNATURE_V1));
const ORIGIN = 'telemetry-stack/ledger/31337/0x5fbdb2315678afecb367f032d93f642f64180aa3';
const entry = (i: number, who = 'alice'): FoldEntry => ({
  kind: i % 2 ? 'acknowledged' : 'recorded',
  id: keccak256(toUtf8Bytes(`alert-${Math.floor(i / 2)}`)),
  dataHash: keccak256(toUtf8Bytes(who)),
  small: 1,
  at: String(1_000 + i),
  recorder: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
});
const note = (entries: FoldEntry[], signer = log) => signNote(formatCheckpoint({ origin: ORIGIN, size: entries.length, root: foldAll(entries) }), signer);

async function refusal(p: Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof WitnessRefusal && err.reason === reason);
}

describe('witness', () => {
  const all = Array.from({ length: 6 }, (_, i) => entry(i));

  test('co-signs a first checkpoint and a consistent successor; the cosignature verifies', async () => {
    const w = new Witness(wkey, [parseVerifierKey(verifierKeyOf(log))], new FileWitnessStore(mkdtempSync(join(tmpdir(), 'witness-'))));
    const n4 = note(all.slice(0, 4));
    const line = await w.addCheckpoint({ note: n4, entries: all.slice(0, 4) });
    const opened = openNote(n4 + line, [parseVerifierKey(verifierKeyOf(log)), parseVerifierKey(verifierKeyOf(wkey))]);
    assert.deepEqual(opened.verified.map((v) => v.name), ['ledger.test', 'witness.test']);
    await w.addCheckpoint({ note: note(all), entries: all.slice(4) });
    await w.addCheckpoint({ note: note(all), entries: [] }); // same head again: idempotent
  });

  test('refuses a rewritten history, a rollback, wrong entries and unknown log keys; remembers across restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'witness-'));
    const logs = [parseVerifierKey(verifierKeyOf(log))];
    const w = new Witness(wkey, logs, new FileWitnessStore(dir));
    await w.addCheckpoint({ note: note(all.slice(0, 4)), entries: all.slice(0, 4) });

    const again = new Witness(wkey, logs, new FileWitnessStore(dir)); // a restarted witness
    const rewritten = [...all.slice(0, 3), entry(3, 'mallory')];
    await refusal(again.addCheckpoint({ note: note(rewritten), entries: [] }), 'fork');
    const longer = [...rewritten, entry(4), entry(5)];
    await refusal(again.addCheckpoint({ note: note(longer), entries: longer.slice(4) }), 'inconsistent');
    await refusal(again.addCheckpoint({ note: note(all.slice(0, 2)), entries: [] }), 'rollback');
    await refusal(again.addCheckpoint({ note: note(all), entries: all.slice(5) }), 'inconsistent');
    await refusal(again.addCheckpoint({ note: note(all, parseSignerKey(generateSignerKey('rogue.log'))), entries: all.slice(4) }), 'unknown-log');
    await refusal(again.addCheckpoint({ note: note(all), entries: new Array(MAX_ENTRIES_PER_REQUEST + 1).fill(entry(0)) }), 'bad-request');
    // …and still accepts the honest successor.
    await again.addCheckpoint({ note: note(all), entries: all.slice(4) });
  });
});
