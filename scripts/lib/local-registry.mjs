// A tiny npm registry on 127.0.0.1 that serves a folder of package tarballs, for installing the
// packed workspace exactly as a registry would hand it out (scripts/install-global.mjs).
//
// What npm asks for, and what it gets:
//   GET /NAME (scoped: /@SCOPE%2fNAME)  the package document ("packument"): every version we hold,
//                                       each the tarball's own package.json plus dist.tarball,
//                                       dist.integrity (sha512) and dist.shasum (sha1)
//   GET /-/tarballs/FILE                the tarball
// Anything else is for a package we do not hold: with `upstream` set it is redirected there (npm
// follows the redirect with its own network settings, proxy included), else it is a 404.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { basename } from 'node:path';

const TARBALLS = '/-/tarballs/';

/**
 * The package.json inside a tarball (npm and pnpm both put the package under `package/`).
 * @param {string} file
 * @returns {Record<string, any>}
 */
export function tarballManifest(file) {
  const r = spawnSync('tar', ['-xzOf', file, 'package/package.json'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot read package/package.json in ${file}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout);
}

/**
 * Starts the registry. Resolves once it listens; `url` ends with a slash, as npm's --registry wants.
 * @param {string[]} files tarballs; a name may come in several versions
 * @param {{ upstream?: string }} [opts]
 * @returns {Promise<{ url: string, names: string[], requests: string[], close(): Promise<void> }>}
 */
export async function startRegistry(files, opts = {}) {
  /** @type {Map<string, Map<string, { manifest: Record<string, any>, file: string }>>} */
  const packages = new Map();
  /** @type {Map<string, string>} */
  const byFile = new Map();
  for (const file of files) {
    const manifest = tarballManifest(file);
    const bytes = readFileSync(file);
    manifest.dist = {
      integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
      shasum: createHash('sha1').update(bytes).digest('hex'),
    };
    if (!packages.has(manifest.name)) packages.set(manifest.name, new Map());
    packages.get(manifest.name).set(manifest.version, { manifest, file });
    byFile.set(basename(file), file);
  }
  /** Every request, as `METHOD URL STATUS`, for the caller to check what was asked. */
  const requests = [];
  let url = '';

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const answer = (status, headers = {}) => {
      requests.push(`${req.method} ${path} ${status}`);
      res.writeHead(status, headers);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      answer(405, { 'content-type': 'application/json' });
      res.end('{"error":"this registry only reads"}');
      return;
    }
    if (path.startsWith(TARBALLS)) {
      const file = byFile.get(decodeURIComponent(path.slice(TARBALLS.length)));
      if (file) {
        answer(200, { 'content-type': 'application/octet-stream' });
        if (req.method === 'HEAD') res.end();
        else createReadStream(file).pipe(res);
        return;
      }
    } else {
      const versions = packages.get(decodeURIComponent(path.slice(1)));
      if (versions) {
        answer(200, { 'content-type': 'application/json' });
        res.end(req.method === 'HEAD' ? '' : JSON.stringify(packument(versions, url)));
        return;
      }
    }
    if (opts.upstream) {
      answer(302, { location: new URL(path.slice(1), opts.upstream).href });
      res.end();
      return;
    }
    answer(404, { 'content-type': 'application/json' });
    res.end(`{"error":"not found: ${path} is not among the packages served here"}`);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(undefined));
  });
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  url = `http://127.0.0.1:${address.port}/`;
  return {
    url,
    names: [...packages.keys()].sort(),
    requests,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * @param {Map<string, { manifest: Record<string, any>, file: string }>} versions
 * @param {string} url
 */
function packument(versions, url) {
  const list = [...versions.values()];
  const name = list[0].manifest.name;
  const latest = list
    .map((v) => v.manifest.version)
    .sort(compareVersions)
    .at(-1);
  return {
    name,
    'dist-tags': { latest },
    versions: Object.fromEntries(
      list.map(({ manifest, file }) => [
        manifest.version,
        { ...manifest, dist: { ...manifest.dist, tarball: `${url}-/tarballs/${basename(file)}` } },
      ]),
    ),
  };
}

/** Orders x.y.z versions (a pre-release sorts before its release). */
function compareVersions(a, b) {
  const parse = (v) => {
    const [core, pre] = v.split('+')[0].split(/-(.*)/s);
    return { nums: core.split('.').map(Number), pre: pre ?? null };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) if (x.nums[i] !== y.nums[i]) return (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
  if (x.pre === y.pre) return 0;
  if (x.pre === null) return 1;
  if (y.pre === null) return -1;
  return x.pre < y.pre ? -1 : 1;
}
