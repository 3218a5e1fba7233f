/**
 * Writes line protocol to InfluxDB 2 through @influxdata/influxdb-client:
 * batches of INFLUX_WRITE_BATCH lines, gzip, ns precision. The client's own
 * retry buffer is turned off (maxRetries 0): the collector must know whether a
 * write landed before it acks the JetStream messages, and retries belong to
 * Temporal's retry policy where they are visible.
 */
import { HttpError, InfluxDB, type WriteApi } from '@influxdata/influxdb-client';

export interface InfluxTarget {
  url: string;
  token: string;
  org: string;
  bucket: string;
  timeoutMs?: number;
}

/** 4xx from InfluxDB (other than 429): the data itself is bad; retrying cannot help. */
export class InfluxPermanentError extends Error {
  override name = 'InfluxPermanentError';
  constructor(
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`InfluxDB rejected the write (${status}): ${message}`, options);
  }
}

export class InfluxWriter {
  private readonly db: InfluxDB;
  constructor(
    readonly target: InfluxTarget,
    private readonly batchLines = 5_000,
  ) {
    this.db = new InfluxDB({ url: target.url, token: target.token, timeout: target.timeoutMs ?? 30_000 });
  }

  private api(): WriteApi {
    return this.db.getWriteApi(this.target.org, this.target.bucket, 'ns', {
      batchSize: this.batchLines + 1, // flush explicitly
      flushInterval: 0,
      maxRetries: 0,
      gzipThreshold: 1_000,
      maxBufferLines: this.batchLines * 4,
      writeFailed: () => {
        /* surfaced through flush()'s rejection */
      },
    });
  }

  /**
   * Writes all lines in chunks of `batchLines`, two requests in flight (InfluxDB
   * parses one while the next is on the wire); resolves only when every chunk
   * was accepted. Order between chunks does not matter: points are keyed by
   * series and timestamp.
   */
  async write(lines: string[], concurrency = 2): Promise<void> {
    const chunks: string[][] = [];
    for (let i = 0; i < lines.length; i += this.batchLines) chunks.push(lines.slice(i, i + this.batchLines));
    let next = 0;
    const run = async () => {
      while (next < chunks.length) {
        const chunk = chunks[next++]!;
        const api = this.api();
        api.writeRecords(chunk);
        try {
          await api.flush();
        } catch (err) {
          throw classifyInfluxError(err);
        } finally {
          await api.close().catch(() => {});
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, run));
  }

  /** True when /health answers pass. */
  async healthy(): Promise<boolean> {
    try {
      const res = await fetch(`${this.target.url}/health`, { signal: AbortSignal.timeout(2_000) });
      return res.ok;
    } catch {
      return false;
    }
  }
}

export function classifyInfluxError(err: unknown): Error {
  if (err instanceof HttpError && err.statusCode >= 400 && err.statusCode < 500 && err.statusCode !== 429 && err.statusCode !== 408)
    return new InfluxPermanentError(err.statusCode, err.body || err.message, { cause: err });
  return err instanceof Error ? err : new Error(String(err));
}
