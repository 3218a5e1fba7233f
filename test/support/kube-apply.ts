/**
 * Applying manifests (helm template output, CRD files) to a test API server
 * the way `kubectl apply --server-side` does: the resource path comes from the
 * server's own discovery (so CRDs resolve once installed), the object goes as
 * an apply patch with strict field validation (an unknown or misspelt field
 * is an error, not silently pruned), optionally with `dryRun=All` — admission
 * and validation run in full, nothing is stored.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments } from 'yaml';
import { kubeRequest, KubeRequestError, type KubeEndpoint } from './kube.ts';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; generation?: number; [k: string]: unknown };
  [k: string]: unknown;
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** The YAML documents of a multi-document manifest (empty documents dropped). */
export function parseManifests(text: string, source = 'manifest'): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`${source}: ${doc.errors[0]!.message}`);
    const obj = doc.toJSON() as KubeObject | null;
    if (obj === null) continue;
    if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) throw new Error(`${source}: a document without apiVersion/kind/metadata.name`);
    out.push(obj);
  }
  return out;
}

export const readManifests = (file: string) => parseManifests(readFileSync(file, 'utf8'), file);

/** Maps apiVersion + kind to a resource through discovery, re-asking the server on a miss (new CRDs). */
export class ResourcePaths {
  private readonly byGroupVersion = new Map<string, ApiResource[]>();
  constructor(private readonly kube: KubeEndpoint) {}

  private async discover(apiVersion: string): Promise<ApiResource[]> {
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const r = await kubeRequest(this.kube, 'GET', path, { raw: true });
    if (r.status === 404) return [];
    if (r.status !== 200) throw new KubeRequestError('GET', path, r.status, r.body);
    // Subresources (pods/eviction) are listed too; objects are only ever top-level resources.
    return ((r.body as { resources: ApiResource[] }).resources ?? []).filter((x) => !x.name.includes('/'));
  }

  async resource(apiVersion: string, kind: string): Promise<ApiResource> {
    let list = this.byGroupVersion.get(apiVersion);
    let found = list?.find((x) => x.kind === kind);
    if (!found) {
      list = await this.discover(apiVersion);
      this.byGroupVersion.set(apiVersion, list);
      found = list.find((x) => x.kind === kind);
    }
    if (!found) throw new Error(`the API server serves no ${kind} in ${apiVersion} (CRD not installed?)`);
    return found;
  }

  /** Path of `obj`; namespaced objects without metadata.namespace go to `namespace`. */
  async objectPath(obj: KubeObject, namespace: string): Promise<string> {
    const res = await this.resource(obj.apiVersion, obj.kind);
    const base = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
    const ns = res.namespaced ? `/namespaces/${encodeURIComponent(obj.metadata.namespace ?? namespace)}` : '';
    return `${base}${ns}/${res.name}/${encodeURIComponent(obj.metadata.name)}`;
  }
}

export interface ApplyOptions {
  namespace: string;
  /** dryRun=All: the full admission and validation chain, nothing persisted. */
  dryRun?: boolean;
  fieldManager?: string;
  /** Bearer token instead of the endpoint's. */
  token?: string;
}

/** Server-side apply of one object; resolves with the object the server answered. Throws KubeRequestError when refused. */
export async function applyObject(kube: KubeEndpoint, paths: ResourcePaths, obj: KubeObject, opts: ApplyOptions): Promise<KubeObject> {
  const query = new URLSearchParams({
    fieldManager: opts.fieldManager ?? 'telemetry-stack-test',
    force: 'true',
    fieldValidation: 'Strict',
  });
  if (opts.dryRun) query.set('dryRun', 'All');
  const path = `${await paths.objectPath(obj, opts.namespace)}?${query}`;
  // JSON is YAML: the apply-patch content type takes either.
  const r = await kubeRequest(kube, 'PATCH', path, { body: obj, contentType: 'application/apply-patch+yaml', token: opts.token });
  return r.body as KubeObject;
}

/** Applies CRD files for real and waits until every CRD is Established (its resources served). */
export async function installCrds(kube: KubeEndpoint, paths: ResourcePaths, files: string[], timeoutMs = 60_000): Promise<string[]> {
  const names: string[] = [];
  for (const f of files) {
    for (const crd of readManifests(f)) {
      if (crd.kind !== 'CustomResourceDefinition')
        throw new Error(`${f}: ${crd.kind} ${crd.metadata.name} is not a CustomResourceDefinition`);
      await applyObject(kube, paths, crd, { namespace: 'default' });
      names.push(crd.metadata.name);
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const r = await kubeRequest(kube, 'GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
      const conds = (r.body as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? [];
      if (conds.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established after ${timeoutMs} ms: ${JSON.stringify(conds)}`);
      await sleep(100);
    }
  }
  return names;
}
