/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, and C2SP
 * cosignatures (https://c2sp.org/tlog-cosignature, `cosignature/v1`) for witnesses.
 *
 * Wire details that matter (and are easy to get subtly wrong):
 * - a note is `<body ending in \n>\n<signature lines>`; each signature line is
 *   `— <key name> <base64(key ID[4] ‖ signature)>\n` with U+2014 EM DASH;
 * - key ID = SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4], type 0x01 = Ed25519 note
 *   signature, 0x04 = timestamped Ed25519 cosignature;
 * - a cosignature signs `cosignature/v1\ntime <unix seconds>\n` ‖ body and carries
 *   key ID ‖ uint64 BE timestamp ‖ signature.
 * Keys use the Go `golang.org/x/mod/sumdb/note` text encodings:
 *   signer   `PRIVATE+KEY+<name>+<key ID hex>+<base64(type ‖ seed)>`
 *   verifier `<name>+<key ID hex>+<base64(type ‖ public key)>`
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

export const SIG_TYPE_ED25519 = 0x01;
export const SIG_TYPE_COSIGNATURE_V1 = 0x04;
const EM_DASH = '\u2014';
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** Same cap as Go's note.Open. */
export const MAX_NOTE_SIGNATURES = 100;

export class NoteError extends Error {
  override name = 'NoteError';
}

export interface NoteSigner {
  name: string;
  type: number;
  keyId: Buffer;
  privateKey: KeyObject;
  publicKey: Buffer;
}
export interface NoteVerifier {
  name: string;
  type: number;
  keyId: Buffer;
  publicKey: Buffer;
}

function checkName(name: string): string {
  if (!name || /[\s+]/u.test(name)) throw new NoteError(`invalid key name ${JSON.stringify(name)} (non-empty, no spaces or +)`);
  return name;
}

export function keyId(name: string, type: number, publicKey: Buffer): Buffer {
  return createHash('sha256').update(Buffer.concat([Buffer.from(`${name}\n`, 'utf8'), Buffer.from([type]), publicKey])).digest().subarray(0, 4);
}

function signerFromSeed(name: string, type: number, seed: Buffer): NoteSigner {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = (createPublicKey(privateKey).export({ format: 'der', type: 'spki' }) as Buffer).subarray(-32);
  return { name, type, keyId: keyId(name, type, publicKey), privateKey, publicKey };
}

/** A fresh signer key (type 0x01 for a log, 0x04 for a witness). */
export function generateSignerKey(name: string, type = SIG_TYPE_ED25519): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = (privateKey.export({ format: 'der', type: 'pkcs8' }) as Buffer).subarray(-32);
  const s = signerFromSeed(checkName(name), type, seed);
  return `PRIVATE+KEY+${name}+${s.keyId.toString('hex')}+${Buffer.concat([Buffer.from([type]), seed]).toString('base64')}`;
}

export function parseSignerKey(text: string): NoteSigner {
  // base64 may itself contain '+': split off the first four fields only.
  const parts = text.trim().split('+');
  if (parts.length < 5 || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') throw new NoteError('signer key must look like PRIVATE+KEY+<name>+<id>+<base64>');
  const [, , name, id] = parts as [string, string, string, string];
  const b64 = parts.slice(4).join('+');
  const raw = Buffer.from(b64, 'base64');
  if (raw.length !== 33 || (raw[0] !== SIG_TYPE_ED25519 && raw[0] !== SIG_TYPE_COSIGNATURE_V1)) throw new NoteError('signer key: expected type byte 0x01 or 0x04 and a 32-byte Ed25519 seed');
  const s = signerFromSeed(checkName(name), raw[0], raw.subarray(1));
  if (s.keyId.toString('hex') !== id.toLowerCase()) throw new NoteError(`signer key ${name}: key ID ${id} does not match the key`);
  return s;
}

export function verifierKeyOf(s: NoteSigner): string {
  return `${s.name}+${s.keyId.toString('hex')}+${Buffer.concat([Buffer.from([s.type]), s.publicKey]).toString('base64')}`;
}

export function parseVerifierKey(text: string): NoteVerifier {
  const parts = text.trim().split('+');
  if (parts.length < 3) throw new NoteError('verifier key must look like <name>+<id>+<base64>');
  const [name, id] = parts as [string, string];
  const b64 = parts.slice(2).join('+');
  const raw = Buffer.from(b64, 'base64');
  if (raw.length !== 33) throw new NoteError(`verifier key ${name}: expected a type byte and a 32-byte Ed25519 key`);
  const v: NoteVerifier = { name: checkName(name), type: raw[0]!, publicKey: raw.subarray(1), keyId: Buffer.alloc(0) };
  v.keyId = keyId(name, v.type, v.publicKey);
  if (v.keyId.toString('hex') !== id.toLowerCase()) throw new NoteError(`verifier key ${name}: key ID ${id} does not match the key`);
  return v;
}

const spki = (pub: Buffer) => createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, pub]), format: 'der', type: 'spki' });
const cosignedMessage = (body: string, time: bigint) => Buffer.from(`cosignature/v1\ntime ${time}\n${body}`, 'utf8');

function checkBody(body: string): void {
  // Control characters other than \n are refused (as Go's note package does).
  const control = [...body].some((ch) => ch !== '\n' && ch.charCodeAt(0) < 0x20);
  if (!body.endsWith('\n') || body.includes('\n\n') || control) {
    throw new NoteError('note body must end in \\n and contain no blank line or control characters');
  }
}

/** The signature line of `body` by `signer` (note signature for 0x01, cosignature/v1 for 0x04). */
export function signatureLine(body: string, signer: NoteSigner, nowSeconds = Math.floor(Date.now() / 1000)): string {
  checkBody(body);
  let payload: Buffer;
  if (signer.type === SIG_TYPE_COSIGNATURE_V1) {
    const t = BigInt(nowSeconds);
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(t);
    payload = Buffer.concat([signer.keyId, ts, sign(null, cosignedMessage(body, t), signer.privateKey)]);
  } else {
    payload = Buffer.concat([signer.keyId, sign(null, Buffer.from(body, 'utf8'), signer.privateKey)]);
  }
  return `${EM_DASH} ${signer.name} ${payload.toString('base64')}\n`;
}

export function signNote(body: string, signer: NoteSigner): string {
  return `${body}\n${signatureLine(body, signer)}`;
}

export interface OpenedNote {
  body: string;
  /** Names of the verifiers whose signature checked out (with the cosignature time when timestamped). */
  verified: { name: string; type: number; time?: number }[];
  /** Every signature line (verified or not), to re-emit the note. */
  lines: string[];
}

/**
 * Splits a note and checks the signatures of the known verifiers. A known key whose
 * signature fails rejects the whole note (as the spec says); unknown keys are kept unverified.
 */
export function openNote(note: string, verifiers: NoteVerifier[]): OpenedNote {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new NoteError('malformed note: no blank line before the signatures');
  const body = note.slice(0, split + 1);
  checkBody(body);
  const lines = note.slice(split + 2).split('\n').slice(0, -1);
  if (lines.length === 0 || lines.length > MAX_NOTE_SIGNATURES) throw new NoteError(`note has ${lines.length} signatures (1…${MAX_NOTE_SIGNATURES})`);
  const verified: OpenedNote['verified'] = [];
  for (const line of lines) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) throw new NoteError(`malformed signature line ${JSON.stringify(line)}`);
    const sig = Buffer.from(m[2]!, 'base64');
    const v = verifiers.find((k) => k.name === m[1] && sig.length >= 4 && k.keyId.equals(sig.subarray(0, 4)));
    if (!v) continue;
    let ok: boolean;
    let time: number | undefined;
    if (v.type === SIG_TYPE_COSIGNATURE_V1) {
      if (sig.length !== 4 + 8 + 64) throw new NoteError(`cosignature of ${v.name} has ${sig.length} bytes, expected 76`);
      const t = sig.readBigUInt64BE(4);
      time = Number(t);
      ok = verify(null, cosignedMessage(body, t), spki(v.publicKey), sig.subarray(12));
    } else {
      ok = sig.length === 68 && verify(null, Buffer.from(body, 'utf8'), spki(v.publicKey), sig.subarray(4));
    }
    if (!ok) throw new NoteError(`invalid signature by ${v.name}`);
    if (!verified.some((x) => x.name === v.name)) verified.push({ name: v.name, type: v.type, ...(time !== undefined ? { time } : {}) });
  }
  return { body, verified, lines: lines.map((l) => `${l}\n`) };
}
