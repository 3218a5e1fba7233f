/**
 * `verify RECEIPT… [--rpc URL] [--anchors FILE|nats --log-key K --witness-key K…]` checks
 * standalone ledger receipts; `ledger keygen|anchors|receipt` manages keys and exports the
 * anchors and receipts a verifier needs. Without --rpc nothing touches the network.
 * Exit code 0 = everything verified, 1 = something failed (named in the output).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import type { Config } from '../lib/config.ts';
import { resolveNatsUrl } from '../infra/stack/endpoints.ts';
import { connectNats } from '../lib/stream/jetstream.ts';
import { verifyReceiptOffline, verifyReceiptOnline, ReceiptVerificationError, type LedgerReceipt } from '../lib/ledger/receipt.ts';
import { receiptName, verifyAnchors, type AnchorInput, type AnchorVerification } from '../lib/ledger/anchor-verify.ts';
import { generateSignerKey, parseSignerKey, parseVerifierKey, SIG_TYPE_COSIGNATURE_V1, SIG_TYPE_ED25519, verifierKeyOf } from '../lib/ledger/signed-note.ts';
import { ledgerOrigin } from '../lib/ledger/checkpoint.ts';
import { ANCHOR_STREAM, anchorSubject, readAnchors } from '../activities/ledger/ledger-anchorer.ts';
import { LedgerReader } from '../activities/ledger/ledger-reader.ts';
import { KvReceiptStore } from '../activities/ledger/receipt-issuer.ts';
import { ledgerAlertId } from '../activities/ledger/ledger-ids.ts';

export interface VerifyOptions {
  rpc?: string;
  anchors?: string;
  logKey?: string;
  witnessKey?: string[];
}

export interface VerifyReport {
  ok: boolean;
  receipts: { receipt: string; ok: boolean; check?: string; message?: string; confirmations?: number }[];
  anchors?: Pick<AnchorVerification, 'ok' | 'anchoredSize' | 'problems'>;
}

async function loadAnchors(cfg: Config, source: string, chainId: number, contract: string): Promise<AnchorInput[]> {
  if (source !== 'nats') {
    return (await readFile(source, 'utf8'))
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l, i) => {
        try {
          return JSON.parse(l) as AnchorInput;
        } catch (err) {
          throw new Error(`${source}:${i + 1}: not a JSON anchor record (${(err as Error).message})`);
        }
      });
  }
  const nc = await connectNats(resolveNatsUrl(cfg), 'telemetry-verify');
  try {
    return await readAnchors(await nc.jetstreamManager(), anchorSubject(chainId, contract));
  } finally {
    await nc.close();
  }
}

/** The library entry of `verify` (the CLI prints it; tests call it). */
export async function runVerify(cfg: Config, files: string[], o: VerifyOptions): Promise<VerifyReport> {
  const receipts: LedgerReceipt[] = [];
  for (const f of files) {
    try {
      receipts.push(JSON.parse(await readFile(f, 'utf8')) as LedgerReceipt);
    } catch (err) {
      throw new Error(`${f}: not a receipt JSON file (${(err as Error).message})`);
    }
  }
  const report: VerifyReport = { ok: true, receipts: [] };
  for (const r of receipts) {
    try {
      if (o.rpc) report.receipts.push({ receipt: receiptName(r), ok: true, confirmations: (await verifyReceiptOnline(r, o.rpc)).confirmations });
      else {
        await verifyReceiptOffline(r);
        report.receipts.push({ receipt: receiptName(r), ok: true });
      }
    } catch (err) {
      report.ok = false;
      const check = err instanceof ReceiptVerificationError ? err.check : 'error';
      report.receipts.push({ receipt: receiptName(r), ok: false, check, message: (err as Error).message });
    }
  }
  if (o.anchors) {
    if (!o.logKey) throw new Error('--anchors needs --log-key (the ledger checkpoint verifier key you trust)');
    const first = receipts[0];
    if (!first) throw new Error('--anchors needs at least one receipt (it names the chain and contract)');
    const anchors = await loadAnchors(cfg, o.anchors, first.chainId, first.contract);
    let chainEntries;
    if (o.rpc) {
      const reader = await LedgerReader.connect({ rpcUrl: o.rpc, deployments: [{ address: first.contract, chainId: first.chainId, deployTx: '', deployBlock: 0 }] });
      try {
        chainEntries = await reader.entries(reader.deployments[0]!);
      } finally {
        reader.close();
      }
    }
    const v = verifyAnchors({
      anchors,
      logKey: parseVerifierKey(o.logKey),
      witnessKeys: (o.witnessKey ?? []).map(parseVerifierKey),
      receipts,
      chainEntries,
      origin: ledgerOrigin(first.chainId, first.contract),
    });
    report.anchors = { ok: v.ok, anchoredSize: v.anchoredSize, problems: v.problems };
    if (!v.ok) report.ok = false;
  }
  return report;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerVerifyCommands(program: Command, cfg: () => Config): void {
  program
    .command('verify')
    .description('verify ledger receipts: signature, receipt-trie inclusion, event (offline); canonical chain with --rpc; witnessed anchors with --anchors')
    .argument('<receipt...>', 'receipt JSON files')
    .option('--rpc <url>', 'JSON-RPC node to check the block is on its canonical chain (and, with --anchors, that the chain still holds the anchored history)')
    .option('--anchors <file|nats>', 'anchor records: a JSON-lines file (`ledger anchors --out`) or `nats` to read the LEDGER_ANCHORS stream')
    .option('--log-key <vkey>', 'verifier key of the ledger checkpoints (name+id+base64)')
    .option('--witness-key <vkey>', 'verifier key of a witness whose cosignature is required (repeatable)', collect)
    .action(async (files: string[], o: VerifyOptions) => {
      const report = await runVerify(cfg(), files, o);
      for (const r of report.receipts) console.error(`${r.ok ? 'ok  ' : 'FAIL'} ${r.receipt}${r.ok ? (r.confirmations ? ` (${r.confirmations} confirmations)` : '') : `: ${r.message}`}`);
      if (report.anchors) {
        console.error(`${report.anchors.ok ? 'ok  ' : 'FAIL'} anchors: ${report.anchors.anchoredSize} ledger writes witnessed`);
        for (const p of report.anchors.problems) console.error(`FAIL ${p.receipt ? `${p.receipt}: ` : ''}${p.message}`);
      }
      console.log(JSON.stringify(report));
      if (!report.ok) process.exitCode = 1;
    });

  const ledger = program.command('ledger').description('ledger keys, anchors and receipts for verifiers');
  ledger
    .command('keygen')
    .description('new C2SP note signer key (checkpoints; --witness for a cosigner); prints the signer key and its verifier key')
    .argument('<name>', 'key name, e.g. ledger.example.org or witness.example.org')
    .option('--witness', 'a witness cosignature key (type 0x04)')
    .action((name: string, o: { witness?: boolean }) => {
      const signer = generateSignerKey(name, o.witness ? SIG_TYPE_COSIGNATURE_V1 : SIG_TYPE_ED25519);
      console.log(JSON.stringify({ signerKey: signer, verifierKey: verifierKeyOf(parseSignerKey(signer)) }));
    });
  ledger
    .command('anchors')
    .description(`export the ${ANCHOR_STREAM} records of one ledger as JSON lines (for offline \`verify --anchors FILE\`)`)
    .requiredOption('--chain-id <id>', 'chain id')
    .requiredOption('--contract <address>', 'ledger contract address')
    .requiredOption('--out <file>', 'output file')
    .action(async (o: { chainId: string; contract: string; out: string }) => {
      const anchors = await loadAnchors(cfg(), 'nats', Number(o.chainId), o.contract);
      await writeFile(o.out, anchors.map((a) => JSON.stringify(a)).join('\n') + (anchors.length ? '\n' : ''));
      console.log(JSON.stringify({ anchors: anchors.length, out: o.out }));
    });
  ledger
    .command('receipt')
    .description('write the stored receipt of an ack or resolve to a file')
    .argument('<ledger-key>', 'on-chain key `<alertId>@<firedAt>` (the audit answer shows it as ledgerKey)')
    .option('--kind <kind>', 'acknowledged | resolved', 'acknowledged')
    .requiredOption('--out <file>', 'output file')
    .action(async (key: string, o: { kind: string; out: string }) => {
      const nc = await connectNats(resolveNatsUrl(cfg()), 'telemetry-verify');
      try {
        const r = await (await KvReceiptStore.open(nc)).get(ledgerAlertId(key), o.kind);
        if (!r) throw new Error(`no ${o.kind} receipt stored for ${key}`);
        await writeFile(o.out, `${JSON.stringify(r, null, 2)}\n`);
        console.log(JSON.stringify({ out: o.out, tx: r.tx.hash }));
      } finally {
        await nc.close();
      }
    });
}
