/**
 * Anchoring outside the chain, on real servers: anvil, nats-server (LEDGER_ANCHORS stream,
 * deny_delete/deny_purge) and the witness as its own process (workers/ledger-witness.ts)
 * with its own key. Then the chain operator rebuilds the chain with ONE ack changed:
 * `verify --anchors` fails naming that ack's receipt, a receipt re-issued from the rebuilt
 * chain fails too, and the witness refuses to co-sign the rebuilt chain's checkpoint.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Wallet } from 'ethers';
import type { NatsConnection } from 'nats';
import { startTestStack, type TestStack } from '../../support/test-stack.ts';
import { runCliAsync, startNodeProcess, type ChildHandle } from '../../support/processes.ts';
import { ANVIL_DEV_KEY, startAnvil, type ChainNode } from '../../../infra/stack/chain.ts';
import { createLogger } from '../../../lib/logger.ts';
import { connectNats } from '../../../lib/stream/jetstream.ts';
import { LedgerClient, deployLedger } from '../../../activities/ledger/ledger-client.ts';
import { createLedgerActivities } from '../../../activities/ledger/ledger-activities.ts';
import { LedgerReader } from '../../../activities/ledger/ledger-reader.ts';
import { LedgerLog } from '../../../activities/ledger/ledger-log.ts';
import { ReceiptIssuer } from '../../../activities/ledger/receipt-issuer.ts';
import { ANCHOR_STREAM, LedgerAnchorer, WitnessRefusedError, ensureAnchorStream, readAnchors } from '../../../activities/ledger/ledger-anchorer.ts';
import type { LedgerDeployment } from '../../../activities/ledger/ledger-deployment.ts';
import { generateSignerKey, parseSignerKey, verifierKeyOf } from '../../../lib/ledger/signed-note.ts';
import type { LedgerReceipt } from '../../../lib/ledger/receipt.ts';
import { runVerify } from '../../../cli/verify-commands.ts';
import { freePort } from './ledger-harness.ts';

const logger = createLogger('silent');
const T0 = 1_706_704_496_000;
const logKey = parseSignerKey(generateSignerKey('ledger.anchors.test'));
const LOG_VKEY = verifierKeyOf(logKey);

let s: TestStack;
let nc: NatsConnection;
let witness: ChildHandle;
let witnessUrl: string;
let witnessVkey: string;
const dir = mkdtempSync(join(tmpdir(), 'telemetry-anchors-'));

interface Ledger {
  node: ChainNode;
  client: LedgerClient;
  reader: LedgerReader;
  log: LedgerLog;
  deployment: LedgerDeployment;
  issuer: ReceiptIssuer;
  close(): Promise<void>;
}

async function ledgerOn(): Promise<Ledger> {
  const node = await startAnvil({ port: await freePort(), persist: false });
  const d = await deployLedger({ rpcUrl: node.rpcUrl, privateKey: ANVIL_DEV_KEY });
  const deployment: LedgerDeployment = { address: d.address, chainId: d.chainId, deployTx: d.txHash, deployBlock: d.blockNumber };
  const client = await LedgerClient.connect({ rpcUrl: node.rpcUrl, privateKey: ANVIL_DEV_KEY, address: d.address, fromBlock: d.blockNumber });
  const reader = await LedgerReader.connect({ rpcUrl: node.rpcUrl, deployments: [deployment] });
  const log = new LedgerLog(reader, deployment);
  const issuer = new ReceiptIssuer({ reader, log, wallet: new Wallet(ANVIL_DEV_KEY), contract: d.address });
  return {
    node,
    client,
    reader,
    log,
    deployment,
    issuer,
    async close() {
      client.close();
      reader.close();
      await node.stop();
    },
  };
}

/** The same writes on any chain; `ackBy` lets the rebuilt chain change one responder. */
async function writeHistory(l: Ledger, ackBy: (i: number) => string): Promise<Map<string, LedgerReceipt>> {
  const out = new Map<string, LedgerReceipt>();
  const acts = createLedgerActivities({
    ledger: l.client,
    logger,
    receipts: {
      issue: async (i) => {
        const r = await l.issuer.issue(i);
        out.set(`${i.alertKey}/${r.event.kind}`, r);
        return r;
      },
    },
  });
  for (let i = 0; i < 3; i++) {
    const key = `alert-GPU-${i}-temp@2024-01-31T12:0${i}:00.000Z`;
    await acts.recordAlertOnChain({ alertId: key, device: `GPU-${i}`, severity: 'critical', raisedAtMs: T0 + i });
    await acts.recordAckOnChain({ alertId: key, responder: ackBy(i), via: 'slack', ackedAtMs: T0 + 100 + i });
  }
  return out;
}

async function anchorerFor(l: Ledger): Promise<LedgerAnchorer> {
  return new LedgerAnchorer({
    log: l.log,
    js: nc.jetstream(),
    jsm: await nc.jetstreamManager(),
    chainId: l.deployment.chainId,
    contract: l.deployment.address,
    signer: logKey,
    witnessUrls: [witnessUrl],
    everyWrites: 1_000,
    intervalMs: 3_600_000,
    logger,
  });
}

function writeReceipts(receipts: LedgerReceipt[], tag: string): string[] {
  return receipts.map((r, i) => {
    const f = join(dir, `${tag}-${i}.json`);
    writeFileSync(f, JSON.stringify(r, null, 2));
    return f;
  });
}

before(async () => {
  s = await startTestStack({ components: ['nats'] });
  nc = await connectNats(s.env.NATS_URL!);
  await ensureAnchorStream(await nc.jetstreamManager());
  const port = await freePort();
  const wdir = join(dir, 'witness');
  witness = startNodeProcess('workers/ledger-witness.ts', { NODE_ENV: 'test', DATA_DIR: wdir, WITNESS_DATA_DIR: wdir, WITNESS_PORT: String(port), WITNESS_LOG_KEYS: LOG_VKEY, LOG_LEVEL: 'warn' }, 'ledger-witness');
  witnessUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const res = await fetch(`${witnessUrl}/key`).catch(() => undefined);
    if (res?.ok) {
      witnessVkey = (await res.text()).trim();
      break;
    }
    if (i > 150) throw new Error(`witness did not start:\n${readFileSync(witness.logFile, 'utf8')}`);
    await sleep(200);
  }
});
after(async () => {
  await witness?.stop();
  await nc?.close();
  await s?.stop();
});

describe('anchors', () => {
  let original: Ledger;
  let receipts: Map<string, LedgerReceipt>;
  const changedAck = 'alert-GPU-1-temp@2024-01-31T12:01:00.000Z/acknowledged';

  test('the head is anchored, co-signed by the witness, in a stream that refuses delete and purge', async () => {
    original = await ledgerOn();
    receipts = await writeHistory(original, () => 'U0ALICE');
    const a = await anchorerFor(original);
    const rec = await a.anchor();
    assert.ok(rec);
    assert.equal(rec.fromSize, 0);
    assert.equal(rec.entries.length, 6);
    assert.match(rec.note, /\n\n\u2014 ledger\.anchors\.test .+\n\u2014 witness\.telemetry-stack\.local .+\n$/);
    assert.equal(await a.anchor(), null, 'nothing new: no second anchor');

    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(ANCHOR_STREAM);
    assert.equal(info.config.deny_delete, true);
    assert.equal(info.config.deny_purge, true);
    await assert.rejects(jsm.streams.purge(ANCHOR_STREAM), /purge/i);
    await assert.rejects(jsm.streams.deleteMessage(ANCHOR_STREAM, info.state.last_seq), /delete/i);
  });

  test('verify: receipts check offline and online, and against the anchors (stream and exported file)', async () => {
    const files = writeReceipts([...receipts.values()], 'orig');
    const opts = { logKey: LOG_VKEY, witnessKey: [witnessVkey] };
    const online = await runVerify(s.cfg, files, { ...opts, anchors: 'nats', rpc: original.node.rpcUrl });
    assert.equal(online.ok, true, JSON.stringify(online));
    assert.equal(online.anchors?.anchoredSize, 6);

    const exported = join(dir, 'anchors.jsonl');
    const anchors = await readAnchors(await nc.jetstreamManager(), `ledger.anchors.${original.deployment.chainId}.${original.deployment.address.toLowerCase()}`);
    writeFileSync(exported, anchors.map((x) => JSON.stringify(x)).join('\n'));
    const offline = await runVerify(s.cfg, files, { ...opts, anchors: exported });
    assert.equal(offline.ok, true, JSON.stringify(offline));
    // The same through the real CLI: exit 0 and the JSON report; a tampered receipt → exit 1 naming it.
    const cli = await runCliAsync(['verify', ...files, '--anchors', exported, '--log-key', LOG_VKEY, '--witness-key', witnessVkey], s.env);
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(cli.json?.ok, true);
    const bad = JSON.parse(readFileSync(files[1]!, 'utf8')) as LedgerReceipt;
    bad.event.at = String(Number(bad.event.at) + 1);
    writeFileSync(files[1]!, JSON.stringify(bad));
    const cliBad = await runCliAsync(['verify', ...files], s.env);
    assert.equal(cliBad.status, 1);
    assert.match(cliBad.stderr, new RegExp(`FAIL ${bad.alertKey} ${bad.event.kind} .*signature`));
    // A witness key that did not co-sign is required → not verified.
    const stranger = verifierKeyOf(parseSignerKey(generateSignerKey('other.witness', 0x04)));
    const unsigned = await runVerify(s.cfg, files, { ...opts, witnessKey: [stranger], anchors: exported });
    assert.equal(unsigned.ok, false);
    assert.match(JSON.stringify(unsigned.anchors?.problems), /not co-signed by witness other\.witness/);
  });

  test('a chain rebuilt with one ack changed is detected, naming the receipt; the witness refuses it', async () => {
    await original.node.stop(); // the operator throws the chain away…
    const rebuilt = await ledgerOn(); // …and replays it with one responder changed
    try {
      assert.equal(rebuilt.deployment.address, original.deployment.address, 'same deployer nonce → same address');
      const forged = await writeHistory(rebuilt, (i) => (i === 1 ? 'U0MALLORY' : 'U0ALICE'));
      const opts = { logKey: LOG_VKEY, witnessKey: [witnessVkey], anchors: 'nats' };

      // 1. The original receipts against the rebuilt chain.
      const r1 = await runVerify(s.cfg, writeReceipts([...receipts.values()], 'orig2'), { ...opts, rpc: rebuilt.node.rpcUrl });
      assert.equal(r1.ok, false);
      const rewritten = r1.anchors!.problems.filter((p) => /chain was rewritten/.test(p.message));
      assert.equal(rewritten.length, 1, JSON.stringify(r1.anchors));
      assert.ok(rewritten[0]!.receipt?.startsWith('alert-GPU-1-temp@2024-01-31T12:01:00.000Z acknowledged'), rewritten[0]!.receipt);
      assert.match(rewritten[0]!.message, /ledger write #3/);

      // 2. A receipt re-issued from the rebuilt chain: valid signature and proof, but not the witnessed history.
      const forgedAck = forged.get(changedAck)!;
      const r2 = await runVerify(s.cfg, writeReceipts([forgedAck], 'forged'), { ...opts });
      assert.equal(r2.receipts[0]!.ok, true, 'offline the forged receipt is internally valid');
      assert.equal(r2.ok, false);
      assert.ok(r2.anchors!.problems.some((p) => p.receipt?.includes(forgedAck.tx.hash) && /differs from the witnessed ledger/.test(p.message)), JSON.stringify(r2.anchors));

      // 3. The witness will not co-sign the rebuilt chain's head.
      const a = await anchorerFor(rebuilt);
      await assert.rejects(a.anchor(), (err: unknown) => err instanceof WitnessRefusedError && err.reason === 'fork');
      await rebuilt.client.recordAlert({ alertId: 'one-more', device: 'GPU-9', severity: 'warning', raisedAtMs: T0 });
      await assert.rejects(a.anchor(), (err: unknown) => err instanceof WitnessRefusedError && err.reason === 'inconsistent');
      const stream = await readAnchors(await nc.jetstreamManager(), `ledger.anchors.${rebuilt.deployment.chainId}.${rebuilt.deployment.address.toLowerCase()}`);
      assert.equal(stream.length, 1, 'nothing from the rebuilt chain was published');
    } finally {
      await rebuilt.close();
      original.client.close();
      original.reader.close();
    }
  });
});
