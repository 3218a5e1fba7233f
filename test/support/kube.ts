/**
 * A real Kubernetes API server (etcd + kube-apiserver) for one test file
 * (infra/stack/kube.ts), with the binaries taken from config
 * (KUBE_APISERVER_BIN / ETCD_BIN / TELEMETRY_CACHE_DIR) like the other servers.
 * ~2 s to start; call `stop()` in `after`.
 */
import { loadConfig } from '../../lib/config.ts';
import { cacheDir } from '../../infra/stack/binaries.ts';
import { startKube as startKubeServer, type KubeServer } from '../../infra/stack/kube.ts';

export {
  kubeRequest,
  serviceAccountToken,
  KubeRequestError,
  type KubeServer,
  type KubeEndpoint,
  type KubeResponse,
  type KubeRequestOptions,
} from '../../infra/stack/kube.ts';

export function startKube(opts: { dir?: string } = {}): Promise<KubeServer> {
  const cfg = loadConfig();
  return startKubeServer({
    dir: opts.dir,
    apiserverBin: cfg.KUBE_APISERVER_BIN,
    etcdBin: cfg.ETCD_BIN,
    cache: cacheDir(cfg.TELEMETRY_CACHE_DIR),
    onProgress: (msg) => console.error(`[kube] ${msg}`),
  });
}
