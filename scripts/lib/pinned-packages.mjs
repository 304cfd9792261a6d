// The third-party packages a set of workspace packages needs, as pnpm installed them: the copies
// under node_modules/.pnpm, at the versions pnpm-lock.yaml pinned. Found the way Node finds a
// dependency (node_modules folders up from the dependent's own folder), so what is listed is
// exactly what the workspace runs with; scripts/install-global.mjs --offline packs them.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * @param {{ dir: string, manifest: Record<string, any> }[]} roots the workspace packages (their
 *   folders and packed manifests, whose ranges are real ones)
 * @param {Set<string>} workspaceNames names served from the workspace itself, never looked up here
 * @returns {string[]} the folders of the third-party packages, each once
 */
export function pinnedDependencies(roots, workspaceNames) {
  /** @type {Map<string, string>} real folder → name@version, each package once */
  const found = new Map();
  const missing = [];
  const queue = roots.map((r) => ({ dir: r.dir, manifest: r.manifest }));
  while (queue.length) {
    const { dir, manifest } = queue.shift();
    for (const [dep, optional] of dependencyNames(manifest)) {
      if (workspaceNames.has(dep)) continue;
      const at = findPackage(dir, dep);
      if (!at) {
        // An optional dependency for another platform is not installed here, and need not be.
        if (!optional) missing.push(`${dep} (needed by ${manifest.name})`);
        continue;
      }
      if (found.has(at)) continue;
      const m = JSON.parse(readFileSync(join(at, 'package.json'), 'utf8'));
      found.set(at, `${m.name}@${m.version}`);
      queue.push({ dir: at, manifest: m });
    }
  }
  if (missing.length)
    throw new Error(`not installed under node_modules (run pnpm install): ${missing.join(', ')}`);
  return [...found.keys()];
}

/** @returns {[string, boolean][]} each dependency name and whether it may be missing */
function dependencyNames(m) {
  const optional = new Set(Object.keys(m.optionalDependencies ?? {}));
  for (const [n, meta] of Object.entries(m.peerDependenciesMeta ?? {})) if (meta?.optional) optional.add(n);
  // npm's own manifests list an optional dependency under dependencies too.
  const names = new Set([
    ...Object.keys(m.dependencies ?? {}),
    ...Object.keys(m.optionalDependencies ?? {}),
    ...Object.keys(m.peerDependencies ?? {}),
  ]);
  return [...names].map((n) => [n, optional.has(n)]);
}

/** Node's lookup: DIR/node_modules/NAME, then up the tree (skipping node_modules folders). */
function findPackage(from, name) {
  for (let d = from; ; d = dirname(d)) {
    if (basename(d) !== 'node_modules') {
      const candidate = join(d, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    }
    if (dirname(d) === d) return null;
  }
}
