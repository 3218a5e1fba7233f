/**
 * One Ethereum JSON-RPC call over fetch, bounded by a timeout; a JSON-RPC
 * error becomes an Error naming the method. Shared by the receipt verifier
 * (which must work with nothing but an RPC URL) and the local chain helpers.
 */
export async function jsonRpc<T>(rpcUrl: string, method: string, params: unknown[], timeoutMs: number): Promise<T> {
  const res = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}
