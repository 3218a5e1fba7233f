/**
 * Device → Kubernetes node. Order: the configured map by device id (GPU UUID), the map by host
 * tag, then the host tag itself — DCGM-exporter's `Hostname` label (our `host` tag) is the node
 * name when the exporter runs as a DaemonSet with NODE_NAME from `spec.nodeName`, its usual setup.
 * A host that is not a valid node name (DNS-1123 subdomain) maps to nothing rather than to a
 * name the API would reject.
 */
import { readFileSync } from 'node:fs';

/** Bound on map entries (one per device or host): a fleet-sized map, not an unbounded one. */
export const MAX_NODE_MAP_ENTRIES = 100_000;
/** Kubernetes object names: DNS-1123 subdomain, ≤ 253 characters. */
export const NODE_NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export class NodeMapError extends Error {
  override name = 'NodeMapError';
  constructor(
    message: string,
    /** `KUBE_NODE_MAP` or the file path. */
    readonly source: string,
  ) {
    super(`${source}: ${message}`);
  }
}

export const isNodeName = (s: string): boolean => s.length <= 253 && NODE_NAME_RE.test(s);

export interface NodeMap {
  /** The node of a device, or undefined when nothing maps it. */
  nodeFor(d: { device: string; host?: string }): string | undefined;
  readonly size: number;
}

function add(into: Map<string, string>, key: string, node: string, source: string): void {
  if (!key) throw new NodeMapError('empty device/host key', source);
  if (!isNodeName(node)) throw new NodeMapError(`"${node}" (for ${key}) is not a valid node name`, source);
  into.set(key, node);
  if (into.size > MAX_NODE_MAP_ENTRIES) throw new NodeMapError(`more than ${MAX_NODE_MAP_ENTRIES} entries`, source);
}

/** Builds the map from `KUBE_NODE_MAP` (`a=node1,b=node2`) and/or a JSON object file; the env list wins. */
export function createNodeMap(opts: { spec?: string; file?: string } = {}): NodeMap {
  const map = new Map<string, string>();
  if (opts.file) {
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(opts.file, 'utf8'));
    } catch (err) {
      throw new NodeMapError(`cannot read a JSON object: ${(err as Error).message}`, opts.file);
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc))
      throw new NodeMapError('expected a JSON object { "device-or-host": "node" }', opts.file);
    for (const [k, v] of Object.entries(doc)) {
      if (typeof v !== 'string') throw new NodeMapError(`value of "${k}" is not a string`, opts.file);
      add(map, k, v, opts.file);
    }
  }
  for (const entry of (opts.spec ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const i = entry.indexOf('=');
    if (i <= 0) throw new NodeMapError(`entry "${entry}" is not device-or-host=node`, 'KUBE_NODE_MAP');
    add(map, entry.slice(0, i), entry.slice(i + 1), 'KUBE_NODE_MAP');
  }
  return {
    size: map.size,
    nodeFor({ device, host }) {
      const mapped = map.get(device) ?? (host ? map.get(host) : undefined);
      if (mapped) return mapped;
      if (!host) return undefined;
      const h = host.toLowerCase();
      return isNodeName(h) ? h : undefined;
    },
  };
}
