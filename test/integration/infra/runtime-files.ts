/**
 * What the runtime image must contain: the files reachable from the entry
 * points through relative imports (static, dynamic, `export … from`, JSON
 * imports) and `new URL('…', import.meta.url)` references, plus the npm
 * packages they import by name.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, relative, resolve } from 'node:path';

export interface RuntimeFiles {
  /** Repository-relative paths. */
  files: Set<string>;
  /** Bare package names (`@scope/name` or `name`). */
  packages: Set<string>;
  /** Relative specifiers that resolved to nothing (`from → spec`). */
  unresolved: string[];
}

const SPECIFIERS = [
  /(?:^|[\s;])(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/gm,
  /(?:^|[\s;])import\s*['"]([^'"]+)['"]/gm,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
];
const URL_REFS = /new URL\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g;

export function runtimeFiles(root: string, entries: readonly string[]): RuntimeFiles {
  const files = new Set<string>();
  const packages = new Set<string>();
  const unresolved: string[] = [];
  const builtins = new Set(builtinModules);
  const queue = entries.map((e) => resolve(root, e));
  while (queue.length) {
    const file = queue.pop()!;
    const rel = relative(root, file);
    if (files.has(rel)) continue;
    files.add(rel);
    if (!/\.(ts|js|mjs)$/.test(file)) continue;
    // Comments can quote import-like text; drop them first.
    const src = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    const specs = SPECIFIERS.flatMap((re) => [...src.matchAll(re)].map((m) => m[1]!));
    for (const spec of specs) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (existsSync(target) && statSync(target).isFile()) queue.push(target);
        else unresolved.push(`${rel} → ${spec}`);
      } else if (!spec.startsWith('node:') && !builtins.has(spec)) {
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
    for (const m of src.matchAll(URL_REFS)) {
      const target = resolve(dirname(file), m[1]!);
      if (existsSync(target)) files.add(relative(root, target));
      else unresolved.push(`${rel} → ${m[1]}`);
    }
  }
  return { files, packages, unresolved };
}

/** Source paths of `COPY` lines without `--from` (files from the build context). */
export function dockerCopySources(dockerfile: string): string[] {
  const out: string[] = [];
  for (const line of dockerfile.split('\n')) {
    const m = line.match(/^\s*COPY\s+(.*)$/i);
    if (!m || /--from=/.test(m[1]!)) continue;
    const args = m[1]!.split(/\s+/).filter((a) => a && !a.startsWith('--'));
    out.push(...args.slice(0, -1).map((a) => a.replace(/^\.\//, '').replace(/\/$/, '')));
  }
  return out;
}
