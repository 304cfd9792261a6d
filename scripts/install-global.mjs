#!/usr/bin/env node
// Puts `vmw9` on PATH from a clone exactly as users of the published packages get it: every
// publishable workspace package is packed with `pnpm pack` (which turns workspace: ranges into real
// ones), the tarballs are served by a registry on 127.0.0.1 for the length of the install, and
// `npm install -g @vmw9/cli` runs against it. npm resolves, fetches and links the packages as it
// would from npmjs.com (optional and per-platform packages included), and nothing of the clone is
// linked into the result: it keeps working after the clone is gone.
//
//   node scripts/install-global.mjs [--prefix DIR] [--offline] [--keep]
//   pnpm -s install-global [--prefix DIR] [--offline] [--keep]
//
// Packages that are not ours (commander, pino, …) come from npm's configured registry, as they
// would for anyone installing the published packages. With --offline they are packed instead from
// the copies pnpm installed under node_modules/.pnpm, at the versions pnpm-lock.yaml pinned, and
// nothing is downloaded: npm talks to 127.0.0.1 only. The clone must be installed and built first
// (`pnpm install` builds it).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRegistry, tarballManifest } from './lib/local-registry.mjs';
import { pinnedDependencies } from './lib/pinned-packages.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = '@vmw9/cli';
const USAGE = 'usage: node scripts/install-global.mjs [--prefix DIR] [--offline] [--keep]';

let args;
try {
  args = parseArgs({
    options: {
      prefix: { type: 'string' },
      offline: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }).values;
} catch (e) {
  console.error(`install-global: ${e.message}\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  console.log(`${USAGE}
  --prefix DIR  install under DIR (vmw9 lands in DIR/bin); default: npm's global prefix
  --offline     pack third-party packages from node_modules/.pnpm instead of downloading them
  --keep        keep the scratch folder (tarballs, npm's cache) and print where it is`);
  process.exit(0);
}
const prefix = args.prefix === undefined ? null : resolve(args.prefix);

const scratch = mkdtempSync(join(tmpdir(), 'vmw9-install-global-'));
let registry;
try {
  const started = performance.now();
  const ours = workspacePackages();
  const notBuilt = ours.filter((p) => p.manifest.files?.includes('dist') && !existsSync(join(p.dir, 'dist')));
  if (notBuilt.length)
    fail(`not built: ${notBuilt.map((p) => p.name).join(', ')}; run pnpm install (or pnpm build) first`);

  const tarballs = packWorkspace(ours, join(scratch, 'workspace'));
  let upstream;
  if (args.offline) {
    const roots = ours.map((p) => ({ dir: p.dir, manifest: tarballManifest(tarballs.get(p.name)) }));
    const third = pinnedDependencies(roots, new Set(ours.map((p) => p.name)));
    for (const file of packFolders(third, join(scratch, 'third-party'))) tarballs.set(file, file);
  } else upstream = npmRegistry();

  registry = await startRegistry([...tarballs.values()], upstream ? { upstream } : {});
  const version = ours.find((p) => p.name === CLI).version;
  console.error(
    `install-global: ${ours.length} packages packed${args.offline ? `, ${tarballs.size - ours.length} third-party ones from node_modules/.pnpm` : ''}; served on ${registry.url}${upstream ? ` (others from ${upstream})` : ''}`,
  );
  // Asynchronously: the registry answers from this process's event loop while npm runs.
  const npm = await runInherited(
    'npm',
    [
      'install',
      '--global',
      ...(prefix ? ['--prefix', prefix] : []),
      '--registry',
      registry.url,
      '--cache',
      join(scratch, 'npm-cache'),
      '--no-audit',
      '--no-fund',
      '--loglevel',
      'warn',
      `${CLI}@${version}`,
    ],
    npmEnv(),
  );
  if (npm.status !== 0) {
    const missed = [...new Set(registry.requests.filter((r) => / 404$/.test(r)))];
    fail(
      `npm install exited ${npm.status ?? npm.signal}${missed.length ? `; not served: ${missed.join(', ')}` : ''}`,
    );
  }
  const bin = join(prefix ?? npmGlobalPrefix(), 'bin');
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.error(`install-global: ${CLI}@${version} installed in ${seconds} s; vmw9 is ${join(bin, 'vmw9')}`);
  if (!process.env.PATH?.split(delimiter).includes(bin))
    console.error(`install-global: ${bin} is not on PATH: export PATH="${bin}:$PATH"`);
} finally {
  await registry?.close();
  if (args.keep) console.error(`install-global: scratch kept in ${scratch}`);
  else rmSync(scratch, { recursive: true, force: true });
}

/** The workspace packages that are published (not private), from pnpm's own list. */
function workspacePackages() {
  const r = run('pnpm', ['ls', '--recursive', '--depth', '-1', '--json'], { cwd: ROOT });
  return JSON.parse(r.stdout)
    .filter((p) => p.private === false && p.version)
    .map((p) => ({
      name: p.name,
      version: p.version,
      dir: p.path,
      manifest: JSON.parse(readFileSync(join(p.path, 'package.json'), 'utf8')),
    }));
}

/** `pnpm pack` of each package: one pnpm run for all of them. Returns name → tarball. */
function packWorkspace(pkgs, dest) {
  mkdirSync(dest, { recursive: true });
  const filters = pkgs.flatMap((p) => ['--filter', p.name]);
  const r = run('pnpm', ['--recursive', ...filters, 'pack', '--pack-destination', dest, '--json'], {
    cwd: ROOT,
  });
  const packed = new Map(JSON.parse(r.stdout).map((t) => [t.name, t.filename]));
  const lost = pkgs.filter((p) => !packed.get(p.name) || !existsSync(packed.get(p.name)));
  if (lost.length) fail(`pnpm pack made no tarball for ${lost.map((p) => p.name).join(', ')}`);
  return packed;
}

/** `npm pack` of installed package folders (no scripts run): one npm run for all of them. */
function packFolders(dirs, dest) {
  mkdirSync(dest, { recursive: true });
  if (dirs.length === 0) return [];
  run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest, ...dirs], {
    cwd: dest,
    env: npmEnv(),
  });
  return readdirSync(dest).map((f) => join(dest, f));
}

/** The registry npm is configured with (npmjs.com unless the user chose a mirror). */
function npmRegistry() {
  const url = run('npm', ['config', 'get', 'registry'], { env: npmEnv() }).stdout.trim();
  return url.endsWith('/') ? url : `${url}/`;
}

function npmGlobalPrefix() {
  return run('npm', ['prefix', '--global'], { env: npmEnv() }).stdout.trim();
}

/**
 * npm's environment: nothing inherited from a pnpm that runs this script (its npm_config_* would
 * reach npm as npm's own settings), no update check, and 127.0.0.1 never sent through a proxy.
 */
function npmEnv() {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^npm_/i.test(k)) delete env[k];
  env.npm_config_update_notifier = 'false';
  const noProxy = [env.NO_PROXY ?? env.no_proxy, '127.0.0.1'].filter(Boolean).join(',');
  env.NO_PROXY = noProxy;
  env.no_proxy = noProxy;
  return env;
}

/** Runs a command with this terminal, without blocking the event loop. */
function runInherited(cmd, argv, env) {
  return new Promise((resolveRun) => {
    const child = spawn(cmd, argv, { stdio: 'inherit', env });
    child.on('error', (e) => fail(`cannot run ${cmd}: ${e.message}`));
    child.on('close', (status, signal) => resolveRun({ status, signal }));
  });
}

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) fail(`cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0)
    fail(`${cmd} ${argv.join(' ')} exited ${r.status ?? r.signal}:\n${(r.stderr || r.stdout).trim()}`);
  return r;
}

function fail(message, code = 1) {
  console.error(`install-global: ${message}`);
  if (!args.keep) rmSync(scratch, { recursive: true, force: true });
  process.exit(code);
}
