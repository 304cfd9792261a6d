/**
 * `vmw9` on PATH as the published packages put it there (issue 12, item 8): the README's
 * `pnpm -s install-global` (scripts/install-global.mjs) run with --offline into a scratch prefix,
 * with the network cut (unshare -rn and a loopback of its own, where the kernel allows; else a dead
 * proxy for everything but 127.0.0.1), then the installed `vmw9` run from outside the clone with a
 * PATH that has none of the clone's node_modules/.bin.
 *
 * The test builds nothing: `pnpm test` builds first (run `pnpm build` before running this project
 * alone). Set PUBLISH_CHECK_KEEP=1 to keep the scratch prefix.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts/install-global.mjs');
/** Nothing listens here: a request sent to it fails at once. */
const DEAD_PROXY = 'http://127.0.0.1:9/';
/** The layers `vmw9 --version` lists (apps/cli/src/commands/services.ts), by their folders here. */
const LAYERS = [
  'packages/backdoor',
  'packages/backdoor-native',
  'packages/msgchan',
  'packages/rpc',
  'packages/hgfs',
  'packages/dndcp',
  'packages/ninep',
  'packages/fs',
  'packages/vmx-sim',
  'packages/agent',
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

let scratch = '';
let prefix = '';
let install: Run;
let cut = '';

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'vmw9-install-global-test-'));
  prefix = join(scratch, 'prefix');
  const script = ['node', SCRIPT, '--offline', '--prefix', prefix];
  const canUnshare =
    spawnSync('unshare', ['-rn', 'sh', '-c', 'ip link set lo up'], { stdio: 'ignore' }).status === 0;
  // In a network namespace of its own nothing but its own loopback exists: the registry and npm
  // share it, and any other address is unreachable.
  const [cmd, args] = canUnshare
    ? ['unshare', ['-rn', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', ...script]]
    : [script[0]!, script.slice(1)];
  cut = canUnshare ? 'network cut with unshare -rn' : 'everything but 127.0.0.1 sent to a dead proxy';
  install = await run(cmd, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      HTTP_PROXY: DEAD_PROXY,
      HTTPS_PROXY: DEAD_PROXY,
      http_proxy: DEAD_PROXY,
      https_proxy: DEAD_PROXY,
    },
  });
});

afterAll(() => {
  console.log(`install-global (${cut}): ${(install.ms / 1000).toFixed(1)} s`);
  if (scratch && !process.env['PUBLISH_CHECK_KEEP']) rmSync(scratch, { recursive: true, force: true });
  else if (scratch) console.log(`install-global: scratch kept in ${scratch}`);
});

describe('pnpm -s install-global --offline --prefix P', () => {
  it('installs @vmw9/cli from the packed packages with nothing downloaded', () => {
    expect(install.code, `${install.stdout}\n${install.stderr}`).toBe(0);
    expect(install.stderr).toMatch(/\d+ packages packed, \d+ third-party ones from node_modules\/\.pnpm/);
    expect(install.stderr).toMatch(/installed in [\d.]+ s; vmw9 is .*\/bin\/vmw9/);
  });

  it('P/bin/vmw9 is the installed copy: nothing in the prefix points back into the clone', () => {
    const bin = join(prefix, 'bin', 'vmw9');
    expect(realpathSync(bin)).toBe(realpathSync(join(prefix, 'lib/node_modules/@vmw9/cli/dist/bin.js')));
    const links = symlinks(prefix).filter((l) => !realpathSync(l).startsWith(realpathSync(prefix)));
    expect(links).toEqual([]);
    // Every layer came from its tarball, not from a link to the workspace.
    const nested = join(prefix, 'lib/node_modules/@vmw9/cli/node_modules');
    for (const dir of LAYERS) {
      const name = manifest(dir)['name'] as string;
      expect(lstatSync(join(nested, name)).isDirectory(), name).toBe(true);
    }
    // The native backdoor's binary for this machine came with its optional platform package.
    if (process.platform === 'linux' && process.arch === 'x64')
      expect(existsSync(join(nested, '@vmw9/backdoor-native-linux-x64/backdoor.node'))).toBe(true);
  });

  it('vmw9 --version, from outside the clone: vmw9 and every layer at its version', async () => {
    const r = await installedVmw9('--version');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]?.startsWith(`vmw9 ${manifest('apps/cli')['version']} `), lines[0]).toBe(true);
    const layers = lines.slice(1).map((l) => l.trim());
    expect(layers).toEqual(LAYERS.map((d) => `${manifest(d)['name']} ${manifest(d)['version']}`));
  });

  it('vmw9 --host sim host, from outside the clone: the embedded simulated host answers', async () => {
    const r = await installedVmw9('--host', 'sim', 'host');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^host: sim \(the embedded simulated host, not a real VMware host\)/);
    expect(r.stdout).toMatch(/hardwareVersion\s+\d+/);
  });
});

/** The installed vmw9 by name, in the scratch folder, on a PATH without the clone's .bin folders. */
function installedVmw9(...args: string[]): Promise<Run> {
  // pnpm, which runs the tests, puts the clone's .bin folders (and its own) first on PATH.
  const outside = (process.env['PATH'] ?? '')
    .split(delimiter)
    .filter((d) => d && !d.startsWith(ROOT) && !d.includes(`node_modules${sep}.bin`));
  const path = [join(prefix, 'bin'), ...outside].join(delimiter);
  return run('vmw9', args, { cwd: scratch, env: { ...process.env, PATH: path, VMW9_BACKDOOR: '' } });
}

function symlinks(dir: string): string[] {
  const found: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isSymbolicLink()) found.push(p);
    else if (e.isDirectory()) found.push(...symlinks(p));
  }
  return found;
}

// biome-ignore lint/suspicious/noExplicitAny: package.json is untyped JSON
function manifest(dir: string): Record<string, any> {
  return JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
}

function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Run> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
  });
}
