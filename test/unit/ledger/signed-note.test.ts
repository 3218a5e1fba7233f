/** C2SP signed notes and cosignatures: the Go reference vector, round trips, and refusals. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  generateSignerKey,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  signatureLine,
  SIG_TYPE_COSIGNATURE_V1,
  verifierKeyOf,
  NoteError,
} from '../../../lib/ledger/signed-note.ts';
import { formatCheckpoint, parseCheckpoint, CheckpointError } from '../../../lib/ledger/checkpoint.ts';

// golang.org/x/mod/sumdb/note note_test.go
const VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const SIG = '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';

describe('signed notes', () => {
  test('reproduces the Go reference signature byte for byte, and opens it', () => {
    const signer = parseSignerKey(SKEY);
    assert.equal(verifierKeyOf(signer), VKEY);
    assert.equal(signNote(TEXT, signer), `${TEXT}\n${SIG}`);
    const opened = openNote(`${TEXT}\n${SIG}`, [parseVerifierKey(VKEY)]);
    assert.equal(opened.body, TEXT);
    assert.deepEqual(opened.verified, [{ name: 'PeterNeumann', type: 1 }]);
  });

  test('a changed body or a bad signature by a known key rejects the note; unknown keys are ignored', () => {
    assert.throws(() => openNote(`${TEXT.replace('answer', 'Answer')}\n${SIG}`, [parseVerifierKey(VKEY)]), NoteError);
    const other = parseSignerKey(generateSignerKey('other.example'));
    const opened = openNote(`${TEXT}\n${signatureLine(TEXT, other)}`, [parseVerifierKey(VKEY)]);
    assert.deepEqual(opened.verified, []);
    assert.throws(() => openNote(TEXT, []), /no blank line/);
    assert.throws(() => parseVerifierKey('PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'), /key ID/);
  });

  test('cosignature/v1: key ID with type 0x04, 8-byte timestamp, verified by the witness key', () => {
    const w = parseSignerKey(generateSignerKey('witness.example', SIG_TYPE_COSIGNATURE_V1));
    const line = signatureLine(TEXT, w, 1_700_000_000);
    const raw = Buffer.from(line.trim().split(' ')[2]!, 'base64');
    assert.equal(raw.length, 76);
    assert.equal(raw.readBigUInt64BE(4), 1_700_000_000n);
    const opened = openNote(`${TEXT}\n${SIG}${line}`, [parseVerifierKey(VKEY), parseVerifierKey(verifierKeyOf(w))]);
    assert.deepEqual(opened.verified.map((v) => [v.name, v.type, v.time]), [['PeterNeumann', 1, undefined], ['witness.example', 4, 1_700_000_000]]);
  });
});

describe('tlog checkpoint', () => {
  test('round trip with the block extension line; strict size and root', () => {
    const c = { origin: 'telemetry-stack/ledger/31337/0xabc', size: 12, root: `0x${'ab'.repeat(32)}`, block: { number: 40, hash: `0x${'cd'.repeat(32)}` } };
    const body = formatCheckpoint(c);
    assert.equal(body.split('\n')[2], Buffer.alloc(32, 0xab).toString('base64'));
    assert.deepEqual(parseCheckpoint(body), c);
    assert.throws(() => parseCheckpoint(body.replace('\n12\n', '\n012\n')), CheckpointError);
    assert.throws(() => parseCheckpoint('o\n1\nAAAA\n'), CheckpointError);
  });
});
