/**
 * Issue 2: every local server starts on free ports in a temp dir and answers
 * real requests — Temporal runs a workflow on a real worker, JetStream stores
 * and serves a message, InfluxDB round-trips a point, the EVM node mines.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { InfluxDB, Point as InfluxPoint } from '@influxdata/influxdb-client';
import { AckPolicy, StringCodec, connect } from 'nats';
import { startTestStack, type TestStack } from '../../support/test-stack.ts';
import { REPO, eventually } from '../../support/processes.ts';
import { rpcCall } from '../../../infra/stack/chain.ts';
import { SEARCH_ATTRIBUTES } from '../../../lib/temporal-names.ts';

let s: TestStack;
before(async () => {
  s = await startTestStack();
});
after(async () => {
  await s?.stop();
});

describe('local servers', () => {
  test('Temporal: namespace and search attributes exist; a workflow runs to completion on a real worker', async () => {
    const ep = s.stack.endpoints.temporal!;
    const conn = await Connection.connect({ address: ep.address });
    const ns = await conn.workflowService.describeNamespace({ namespace: ep.namespace });
    assert.equal(ns.namespaceInfo?.name, 'telemetry');
    const sa = await conn.operatorService.listSearchAttributes({ namespace: ep.namespace });
    for (const { name } of SEARCH_ATTRIBUTES) assert.ok(name in (sa.customAttributes ?? {}), `search attribute ${name} registered`);
    const nconn = await NativeConnection.connect({ address: ep.address });
    const worker = await Worker.create({
      connection: nconn,
      namespace: ep.namespace,
      taskQueue: 'smoke',
      workflowsPath: join(REPO, 'test/fixtures/workflows/echo.ts'),
      activities: { shout: async (x: string) => x.toUpperCase() },
    });
    const client = new Client({ connection: conn, namespace: ep.namespace });
    const result = await worker.runUntil(
      client.workflow.execute('echoWorkflow', { taskQueue: 'smoke', workflowId: `smoke-${Date.now()}`, args: ['gpu'] }),
    );
    assert.equal(result, 'echo: GPU');
    await nconn.close();
    await conn.close();
  });

  test('NATS JetStream: create a stream, publish, fetch through a durable pull consumer', async () => {
    const nc = await connect({ servers: s.stack.endpoints.nats!.url });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'SMOKE', subjects: ['smoke.>'] });
    await jsm.consumers.add('SMOKE', { durable_name: 'c', ack_policy: AckPolicy.Explicit });
    const js = nc.jetstream();
    const sc = StringCodec();
    const ack = await js.publish('smoke.a', sc.encode('hello'), { msgID: 'm1' });
    const dup = await js.publish('smoke.a', sc.encode('hello'), { msgID: 'm1' });
    assert.equal(ack.seq, 1);
    assert.equal(dup.duplicate, true, 'Nats-Msg-Id dedup is active');
    const c = await js.consumers.get('SMOKE', 'c');
    const m = await c.next({ expires: 2_000 });
    assert.equal(m && sc.decode(m.data), 'hello');
    m?.ack();
    await nc.close();
  });

  test('InfluxDB: write a point through the client and read it back with Flux', async () => {
    const ep = s.stack.endpoints.influxdb!;
    assert.equal(ep.org, 'telemetryorg');
    assert.equal(ep.bucket, 'telem_bucket');
    const db = new InfluxDB({ url: ep.url, token: ep.token });
    const w = db.getWriteApi(ep.org, ep.bucket, 'ns');
    w.writePoint(new InfluxPoint('smoke').tag('device', 'GPU-x').floatField('temperature_c', 41.5).timestamp('1700000000000000000'));
    await w.close();
    const rows = await db
      .getQueryApi(ep.org)
      .collectRows<{ _value: number; device: string }>(`from(bucket: "${ep.bucket}") |> range(start: 2023-01-01T00:00:00Z) |> filter(fn: (r) => r._measurement == "smoke")`);
    assert.deepEqual(rows.map((r) => [r.device, r._value]), [['GPU-x', 41.5]]);
  });

  test('EVM node: chain id 31337 and a mined block after a transaction', async () => {
    const rpc = s.stack.endpoints.chain!.rpcUrl;
    assert.equal(Number(BigInt(await rpcCall<string>(rpc, 'eth_chainId'))), 31_337);
    const [from] = await rpcCall<string[]>(rpc, 'eth_accounts');
    const before = Number(BigInt(await rpcCall<string>(rpc, 'eth_blockNumber')));
    const hash = await rpcCall<string>(rpc, 'eth_sendTransaction', [{ from, to: from, value: '0x1' }]);
    // Auto-mining is immediate but the block can become visible a moment after the send returns: wait for the receipt.
    const receipt = await eventually(() => rpcCall<{ blockNumber: string; status: string } | null>(rpc, 'eth_getTransactionReceipt', [hash]), (r) => r !== null, 10_000, 'the transaction mined', 50);
    assert.equal(receipt!.status, '0x1');
    const afterBlock = Number(BigInt(await rpcCall<string>(rpc, 'eth_blockNumber')));
    assert.ok(afterBlock > before && Number(BigInt(receipt!.blockNumber)) > before, `block advanced (${before} → ${afterBlock})`);
  });
});
