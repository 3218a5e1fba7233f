/**
 * CustomResourceDefinitions the chart's objects need on an API server: KEDA
 * (ScaledObject and friends) and the Prometheus Operator's ServiceMonitor and
 * PrometheusRule. Taken from the projects' own Go modules through the Go module
 * proxy (`go mod download`, checksummed by sum.golang.org) into
 * ~/.cache/telemetry-stack/crds/<name>-<version>/, never committed.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CrdSource {
  name: string;
  module: string;
  version: string;
  /** Folder of CRD YAML files inside the module. */
  dir: string;
  /** File names to take; undefined = every .yaml in `dir`. */
  files?: string[];
}

/** The versions the chart is written against (collectWorker.autoscaling → KEDA 2.17; serviceMonitor/prometheusRule). */
export const CHART_CRDS: CrdSource[] = [
  { name: 'keda', module: 'github.com/kedacore/keda/v2', version: 'v2.17.2', dir: 'config/crd/bases' },
  {
    name: 'prometheus-operator',
    module: 'github.com/prometheus-operator/prometheus-operator',
    version: 'v0.85.0',
    dir: 'example/prometheus-operator-crd',
    files: ['monitoring.coreos.com_servicemonitors.yaml', 'monitoring.coreos.com_prometheusrules.yaml'],
  },
];

export class CrdFetchError extends Error {
  override name = 'CrdFetchError';
}

/**
 * Paths of the CRD files of `source`, downloading the module on first use.
 * Written to a temp dir and renamed, so a cache dir is always complete.
 */
export async function ensureCrds(cache: string, source: CrdSource): Promise<string[]> {
  const target = join(cache, 'crds', `${source.name}-${source.version}`);
  if (!existsSync(join(target, '.complete'))) {
    const ref = `${source.module}@${source.version}`;
    let moduleDir: string;
    try {
      const { stdout } = await run('go', ['mod', 'download', '-json', ref], {
        env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
        maxBuffer: 16 * 1024 * 1024,
        timeout: 15 * 60_000,
      });
      const info = JSON.parse(stdout) as { Dir?: string; Error?: string };
      if (!info.Dir) throw new CrdFetchError(`go mod download ${ref}: ${info.Error ?? 'no Dir in the answer'}`);
      moduleDir = info.Dir;
    } catch (err) {
      if (err instanceof CrdFetchError) throw err;
      // `go mod download -json` prints the JSON (with Error) on stdout even when it exits non-zero.
      const out = (err as { stdout?: string }).stdout ?? '';
      throw new CrdFetchError(`go mod download ${ref} failed: ${out.trim() || (err as Error).message}`, { cause: err });
    }
    const src = join(moduleDir, source.dir);
    const files = source.files ?? readdirSync(src).filter((f) => f.endsWith('.yaml'));
    const tmp = `${target}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    for (const f of files) {
      if (!existsSync(join(src, f))) throw new CrdFetchError(`${ref} has no ${source.dir}/${f}`);
      copyFileSync(join(src, f), join(tmp, f));
    }
    writeFileSync(join(tmp, '.complete'), `${ref}\n`);
    rmSync(target, { recursive: true, force: true });
    renameSync(tmp, target);
  }
  return readdirSync(target)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(target, f));
}
