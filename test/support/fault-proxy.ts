/**
 * A small HTTP proxy in front of a real server for fault tests: it forwards
 * every request, except that writes (`POST /api/v2/write`) can be made to
 * answer 503 or to hang until the client gives up — while `/health` keeps
 * answering from the real server, as an overloaded InfluxDB does.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultMode = 'pass' | '503' | 'hang';

export interface FaultProxy {
  url: string;
  mode: FaultMode;
  /** Write requests seen per mode. */
  seen: Record<FaultMode, number>;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const t = new URL(target);
  const hanging = new Set<ServerResponse>();
  const proxy: FaultProxy = { url: '', mode: 'pass', seen: { pass: 0, '503': 0, hang: 0 }, close: async () => {} };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const isWrite = req.method === 'POST' && (req.url ?? '').startsWith('/api/v2/write');
    if (isWrite) proxy.seen[proxy.mode]++;
    if (isWrite && proxy.mode === '503') {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end(JSON.stringify({ code: 'unavailable', message: 'service unavailable (fault proxy)' }));
      return;
    }
    if (isWrite && proxy.mode === 'hang') {
      req.resume();
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return; // never answers: the client's timeout fires
    }
    const up = request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = async () => {
    for (const r of hanging) r.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}
