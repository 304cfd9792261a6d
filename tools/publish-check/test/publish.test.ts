/**
 * Install one layer, publish per layer, proven (issue 7, item 5).
 *
 * Packs every publishable package with `pnpm pack` (so `workspace:` ranges become real ones), then
 * for each library installs its tarball with npm into an empty folder together with ONLY the
 * tarballs of its own workspace dependencies (third-party ones come from the npm registry), imports
 * it and calls one function. Also: @vmw9/msgchan, @vmw9/rpc and @vmw9/fs pull in no native code;
 * publint and @arethetypeswrong/cli are clean on every tarball; `pnpm changeset version` runs in a
 * throwaway copy of the repository without the network and moves the fixed group together; and
 * `npm publish --dry-run` of every tarball succeeds with no network.
 *
 * The test builds nothing: `pnpm test` builds first (run `pnpm build` before running this project
 * alone). Set PUBLISH_CHECK_KEEP=1 to keep the scratch folder.
 */
import { type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ATTW = fileURLToPath(new URL('../node_modules/.bin/attw', import.meta.url));
/** Nothing listens here: a registry at this address fails at once (connection refused). */
const DEAD_REGISTRY = 'http://127.0.0.1:9/';
const FIXED_GROUP = [
  '@vmw9/backdoor-native',
  '@vmw9/backdoor-native-linux-x64',
  '@vmw9/backdoor-native-linux-arm64',
];
const NO_NATIVE = ['@vmw9/msgchan', '@vmw9/rpc', '@vmw9/fs'];

// biome-ignore lint/suspicious/noExplicitAny: package.json is untyped JSON
type Manifest = Record<string, any>;
interface Pkg {
  name: string;
  version: string;
  /** Relative to the repository root. */
  dir: string;
  manifest: Manifest;
  /** A per-platform binary package (has `os`/`cpu`): optional for its parent, may not install here. */
  platform: boolean;
  publishable: boolean;
}
interface Run {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** One function call per library, run in the folder the package was installed into. */
const SMOKE: Record<string, { script?: string; check: (out: Run) => void }> = {
  '@vmw9/backdoor': {
    script: `const m = await import('@vmw9/backdoor');
      const r = m.callRegisters(10);
      console.log(JSON.stringify({ eax: r.eax, ecx: r.ecx, edx: r.edx }));`,
    check: (out) => expect(lastJson(out)).toEqual({ eax: 0x564d5868, ecx: 10, edx: 0x5658 }),
  },
  '@vmw9/msgchan': {
    script: `const m = await import('@vmw9/msgchan');
      console.log(JSON.stringify([m.statusNames(1), m.statusNames(0x11)]));`,
    check: (out) => expect(lastJson(out)).toEqual([['SUCCESS'], ['SUCCESS', 'CPT']]),
  },
  '@vmw9/rpc': {
    script: `const m = await import('@vmw9/rpc'); console.log(JSON.stringify(m.toolsVersion(12, 5, 0)));`,
    check: (out) => expect(lastJson(out)).toBe((12 << 10) + (5 << 5)),
  },
  '@vmw9/hgfs': {
    // The request vmhgfs-fuse sends first: CREATE_SESSION_V4 asking for large packets, 76 bytes.
    script: `const m = await import('@vmw9/hgfs');
      const p = m.encodeRequest({ op: m.HgfsOp.CREATE_SESSION_V4, maxPacketSize: m.HGFS_LARGE_PACKET_MAX, flags: 0, capabilities: [] },
        { framing: 'v4', requestId: 1, sessionId: 0n });
      console.log(JSON.stringify({ size: p.length, cp: Buffer.from(m.encodeCPName(['docs', 'a b'])).toString('hex') }));`,
    check: (out) => expect(lastJson(out)).toEqual({ size: 76, cp: '646f637300612062' }),
  },
  '@vmw9/dndcp': {
    // The guest's answer to REQUEST_CLIPBOARD session 7 when it copied "hi": a 134-byte RPCI.
    script: `const m = await import('@vmw9/dndcp');
      const clip = m.encodeClipboard({ items: new Map([[m.CpFormat.TEXT, m.textItem('hi')]]), changed: true });
      const sent = [];
      const e = new m.DndCpEndpoint({ role: 'guest', channel: 'cp', send: (p) => { sent.push(m.encodeTransport('cp', p)); } });
      await e.sendMessage({ cmd: m.Cmd.CP_SEND_CLIPBOARD, sessionId: 7, params: [4, 0, 0, 0], binary: clip });
      console.log(JSON.stringify({ clip: clip.length, rpci: sent[0].length, word: sent[0].toString('latin1', 0, 20) }));`,
    check: (out) => expect(lastJson(out)).toEqual({ clip: 58, rpci: 134, word: 'copypaste.transport ' }),
  },
  ninep: {
    script: `const m = await import('ninep');
      const frame = m.encode({ type: 'Tversion', tag: m.NOTAG, msize: 8192, version: '9P2000' }, '9P2000');
      const dial = (await import('ninep/dial')).parseDial('tcp!h!9fs');
      console.log(JSON.stringify({ hex: frame.toString('hex'), back: m.decode(frame, '9P2000'), dial }));`,
    check: (out) =>
      expect(lastJson(out)).toEqual({
        hex: '1300000064ffff002000000600395032303030',
        back: { type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000' },
        // The light subpath every vmw9 package parses addresses with.
        dial: { net: 'tcp', host: 'h', port: 564 },
      }),
  },
  '@vmw9/fs': {
    script: `const m = await import('@vmw9/fs'); console.log(JSON.stringify(m.format.mouseRecord('m', 10, 20, 1, 1234)));`,
    check: (out) => {
      const rec = lastJson(out) as string;
      expect(rec).toHaveLength(49);
      expect(rec).toMatch(/^m +10 +20 +1 +1234 $/);
    },
  },
  '@vmw9/vmx-sim': {
    script: `const { VmxHost, SimBackdoorPort, DEFAULT_FACTS } = await import('@vmw9/vmx-sim');
      const { getVersion } = await import('@vmw9/backdoor');
      const v = await getVersion(new SimBackdoorPort(new VmxHost()));
      let trap = null;
      if (process.platform === 'linux' && process.arch === 'x64') {
        const { createRequire } = await import('node:module');
        trap = createRequire(process.cwd() + '/').resolve('@vmw9/vmx-sim-linux-x64/vmx-trap');
      }
      console.log(JSON.stringify({ v, expected: DEFAULT_FACTS.version, trap }));`,
    check: (out) => {
      const r = lastJson(out) as {
        v: { version: number; productName: string };
        expected: number;
        trap: string;
      };
      expect(r.v.version).toBe(r.expected);
      expect(r.v.productName).toEqual(expect.any(String));
      if (process.platform === 'linux' && process.arch === 'x64') {
        expect(r.trap, 'the vmx-trap launcher comes from @vmw9/vmx-sim-linux-x64').toMatch(
          /node_modules\/@vmw9\/vmx-sim-linux-x64\/vmx-trap$/,
        );
      }
    },
  },
  '@vmw9/backdoor-native': {
    script: `const m = await import('@vmw9/backdoor-native');
      const d = m.detect();
      console.log(JSON.stringify({ available: d.available, reason: d.reason, cpu: d.cpu, arch: d.arch }));`,
    check: (out) => {
      const d = lastJson(out) as { available: boolean; reason: string; cpu: unknown };
      expect(d.reason).toMatch(/\S/);
      note('@vmw9/backdoor-native', `detect: ${d.reason}`);
      if (process.platform === 'linux' && ['x64', 'arm64'].includes(process.arch)) {
        // The binary came from the platform tarball and loaded, and it reads the same CPU facts as the
        // workspace build does on this machine (e.g. reason `hypervisor:KVM` on a KVM guest).
        expect(d.reason).not.toBe('no-binary');
        expect(d).toEqual(workspaceDetect());
      }
    },
  },
  '@vmw9/agent': {
    script: `const m = await import('@vmw9/agent');
      const empty = m.parseConfig('');
      const commented = m.parseConfig(m.defaultConfigText());
      let bad = null;
      try { m.parseConfig('[nosuchsection]\\nx = 1\\n', 'bad.conf'); } catch (e) { bad = String(e.message); }
      console.log(JSON.stringify({ sections: Object.keys(empty), same: JSON.stringify(empty) === JSON.stringify(commented), bad }));`,
    check: (out) => {
      const r = lastJson(out) as { sections: string[]; same: boolean; bad: string | null };
      expect(r.sections).toEqual(expect.arrayContaining(['powerops', 'timesync']));
      expect(r.same).toBe(true);
      expect(r.bad).toMatch(/bad\.conf.*1/);
    },
  },
  '@vmw9/cli': {
    check: (out) => expect(out.stdout).toMatch(/^Usage: vmw9 /m),
  },
};

let scratch = '';
let tgzDir = '';
let ws: Map<string, Pkg>;
let publishable: Pkg[];
const tarballs = new Map<string, string>();
const packFailures: string[] = [];
const installs = new Map<string, Promise<Installed>>();
const summary = new Map<string, string[]>();
let canUnshare = false;
let workspaceDetection: unknown;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'vmw9-publish-check-'));
  tgzDir = join(scratch, 'tgz');
  mkdirSync(tgzDir);
  ws = readWorkspace();
  publishable = [...ws.values()].filter((p) => p.publishable);
  canUnshare = spawnSync('unshare', ['-rn', 'true']).status === 0;
  for (const p of publishable) {
    const missing =
      (p.manifest['files'] as string[] | undefined)?.includes('dist') &&
      !existsSync(join(ROOT, p.dir, 'dist'));
    if (missing) {
      packFailures.push(`${p.name}: ${p.dir}/dist is missing; run \`pnpm build\` first`);
      continue;
    }
    const r = await run('pnpm', ['pack', '--json', '--pack-destination', tgzDir], { cwd: join(ROOT, p.dir) });
    const file = r.code === 0 ? (/"filename":\s*"([^"]+)"/.exec(r.stdout)?.[1] ?? '') : '';
    if (file && existsSync(file)) {
      tarballs.set(p.name, file);
      note(p.name, `${Math.round(lstatSync(file).size / 1024)} kB`);
    } else packFailures.push(`${p.name} (${p.dir}): pnpm pack failed: ${(r.stderr + r.stdout).trim()}`);
  }
});

afterAll(() => {
  const lines = [...summary].map(([name, notes]) => `  ${name.padEnd(34)} ${notes.join(' · ')}`);
  console.log(
    `publish-check (${canUnshare ? 'network cut with unshare -rn' : 'dead registry'}):\n${lines.join('\n')}`,
  );
  if (scratch && !process.env['PUBLISH_CHECK_KEEP']) rmSync(scratch, { recursive: true, force: true });
  else if (scratch) console.log(`publish-check: scratch kept in ${scratch}`);
});

describe('pack', () => {
  it('packs every publishable package, with no workspace: range left in any packed package.json', () => {
    expect(packFailures, 'every publishable package packs').toEqual([]);
    expect(publishable.map((p) => p.name).sort()).toEqual(
      expect.arrayContaining([
        '@vmw9/agent',
        '@vmw9/backdoor',
        '@vmw9/backdoor-native',
        '@vmw9/backdoor-native-linux-arm64',
        '@vmw9/backdoor-native-linux-x64',
        '@vmw9/cli',
        '@vmw9/fs',
        '@vmw9/msgchan',
        '@vmw9/rpc',
        '@vmw9/vmx-sim',
        '@vmw9/vmx-sim-linux-x64',
        'ninep',
      ]),
    );
    for (const p of publishable) {
      const text = packedManifestText(p.name);
      expect(text, `${p.name}: packed package.json`).not.toContain('workspace:');
      const packed = JSON.parse(text) as Manifest;
      expect(packed['version']).toBe(p.version);
      for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies']) {
        for (const [dep, range] of Object.entries((packed[field] ?? {}) as Record<string, string>)) {
          const target = ws.get(dep);
          if (!target) continue;
          expect(target.publishable, `${p.name} → ${dep} must itself be publishable`).toBe(true);
          expect([`^${target.version}`, target.version], `${p.name} → ${dep}`).toContain(range);
        }
      }
    }
  });

  it('has a smoke test for every publishable package that is not a platform binary', () => {
    const libraries = publishable.filter((p) => !p.platform).map((p) => p.name);
    expect(libraries.filter((n) => !SMOKE[n])).toEqual([]);
  });
});

describe('installs alone from its tarball and works', () => {
  for (const name of Object.keys(SMOKE)) {
    it(name, async () => {
      const inst = await install(name);
      const spec = SMOKE[name]!;
      const out = spec.script
        ? await run(process.execPath, ['--input-type=module', '-e', spec.script], { cwd: inst.dir })
        : await run('npx', ['--no', '--', 'vmw9', '--help'], { cwd: inst.dir, env: npmEnv() });
      expect(out.code, `${name} smoke in ${inst.dir}:\n${out.stderr}`).toBe(0);
      spec.check(out);
      note(name, `install ${(inst.ms / 1000).toFixed(1)} s, smoke ok`);
    });
  }
});

describe('no native code below the protocol layers', () => {
  it('finds the native code of @vmw9/backdoor-native (control: the scan sees what it looks for)', async () => {
    if (process.platform !== 'linux' || !['x64', 'arm64'].includes(process.arch)) return;
    const found = nativeCode((await install('@vmw9/backdoor-native')).dir);
    expect(found.some((f) => f.endsWith('.node'))).toBe(true);
    expect(found.some((f) => f.includes('@vmw9/backdoor-native'))).toBe(true);
  });

  for (const name of NO_NATIVE) {
    it(`${name} installed alone has no .node file, no node-gyp package and no @vmw9/backdoor-native`, async () => {
      const inst = await install(name);
      expect(nativeCode(inst.dir)).toEqual([]);
      // What was installed of ours is exactly the closure: no stray workspace package came along.
      expect(inst.ours.sort()).toEqual(closure(name).sort());
    });
  }
});

describe('lint the tarballs', () => {
  it('publint: no errors on any tarball', async () => {
    const errors: string[] = [];
    for (const p of publishable) {
      const file = tarball(p.name);
      const buf = readFileSync(file);
      const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
      const { messages, pkg } = await publint({ pack: { tarball: ab }, level: 'suggestion' });
      const counts = { error: 0, warning: 0, suggestion: 0 };
      for (const m of messages) {
        counts[m.type]++;
        const text = `${p.name}: publint ${m.type} ${m.code}: ${formatMessage(m, pkg, { color: false })}`;
        if (m.type === 'error') errors.push(text);
        else console.log(text);
      }
      note(p.name, `publint ${counts.error}e/${counts.warning}w/${counts.suggestion}s`);
    }
    expect(errors).toEqual([]);
  });

  it('@arethetypeswrong/cli (profile esm-only): no problems on any tarball', async () => {
    const problems: string[] = [];
    for (const p of publishable) {
      const r = await run(ATTW, [
        tarball(p.name),
        '--profile',
        'esm-only',
        '--no-definitely-typed',
        '--format',
        'json',
      ]);
      let report: Manifest;
      try {
        report = JSON.parse(r.stdout) as Manifest;
      } catch {
        throw new Error(`${p.name}: attw printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
      }
      const analysis = report['analysis'] as Manifest;
      const shipsTypes = Boolean(p.manifest['exports']?.['.']?.['types'] ?? p.manifest['types']);
      if (shipsTypes) expect(analysis['types'], `${p.name}: attw finds the types`).toBeTruthy();
      // esm-only ignores exactly the node10 and node16-from-CJS resolutions: an ESM-only package
      // cannot satisfy them. Anything else is a problem.
      const real = ((analysis['problems'] ?? []) as Manifest[]).filter(
        (x) => !['node10', 'node16-cjs'].includes(x['resolutionKind']),
      );
      for (const x of real) problems.push(`${p.name}: ${JSON.stringify(x)}`);
      if (r.code !== 0) problems.push(`${p.name}: attw exited ${r.code}: ${r.stderr.trim()}`);
      note(
        p.name,
        `attw ${real.length ? `${real.length} problems` : analysis['types'] ? 'clean' : 'no types (binary)'}`,
      );
    }
    expect(problems).toEqual([]);
  });
});

describe('release without the network', () => {
  // Two passes in one copy: first the repository's pending changesets, as the next release would
  // apply them; then a probe that names only @vmw9/backdoor-native-linux-x64, which must carry the
  // whole fixed group with it and nothing unrelated.
  it('pnpm changeset version in a throwaway copy bumps versions and moves the fixed group together', async () => {
    const before = fingerprint();
    const copy = join(scratch, 'repo');
    copyForChangesets(copy);
    const versionsIn = () =>
      new Map([...ws.values()].map((p) => [p.name, readJson(join(copy, p.dir, 'package.json'))] as const));
    const changesetVersion = async (what: string) => {
      const r = await run(...offline('pnpm', ['changeset', 'version']), { cwd: copy, env: offlineEnv() });
      expect(r.code, `changeset version (${what}):\n${r.stdout}\n${r.stderr}`).toBe(0);
      const left = readdirSync(join(copy, '.changeset')).filter(
        (f) => f.endsWith('.md') && f !== 'README.md',
      );
      expect(left, 'every changeset was consumed').toEqual([]);
      return versionsIn();
    };

    // Pass 1: the pending changesets.
    const { named, malformed } = pendingChangesets(join(copy, '.changeset'));
    expect(malformed, 'changesets whose frontmatter names no package (e.g. turned into a heading)').toEqual(
      [],
    );
    const first = named.length ? await changesetVersion('pending changesets') : versionsIn();
    const bumped: string[] = [];
    for (const p of publishable) {
      const next = first.get(p.name)!['version'] as string;
      if (next !== p.version) bumped.push(`${p.name} ${p.version}→${next}`);
      if (named.includes(p.name))
        expect(semverGt(next, p.version), `${p.name}: ${p.version} → ${next}`).toBe(true);
      // Internal ranges stay workspace: ranges in the repository; pnpm pack rewrites them.
      for (const field of ['dependencies', 'optionalDependencies']) {
        for (const [dep, range] of Object.entries((p.manifest[field] ?? {}) as Record<string, string>)) {
          if (range.startsWith('workspace:')) expect(first.get(p.name)![field][dep]).toBe(range);
        }
      }
    }
    const group1 = FIXED_GROUP.map((n) => first.get(n)!['version'] as string);
    expect(new Set(group1).size, `fixed group after pass 1: ${group1.join(', ')}`).toBe(1);

    // Pass 2: one platform package alone. (The file name is joined so that it does not read as a
    // cited document to the docs-in-repo check: it is a throwaway changeset in the copy.)
    writeFileSync(
      join(copy, '.changeset', ['publish-check-probe', 'md'].join('.')),
      `---\n'@vmw9/backdoor-native-linux-x64': patch\n---\n\npublish-check: a throwaway bump\n`,
    );
    const second = await changesetVersion('probe');
    const group2 = FIXED_GROUP.map((n) => second.get(n)!['version'] as string);
    expect(new Set(group2).size, `fixed group after the probe: ${group2.join(', ')}`).toBe(1);
    expect(semverGt(group2[0]!, group1[0]!), `fixed group ${group1[0]} → ${group2[0]}`).toBe(true);
    expect(second.get('ninep')!['version'], 'a package outside the group and its dependents stays').toBe(
      first.get('ninep')!['version'],
    );
    expect(existsSync(join(copy, 'packages/backdoor-native/CHANGELOG.md'))).toBe(true);

    note(
      '(changeset version)',
      `${bumped.join(', ') || 'nothing pending'}; probe: fixed group ${group1[0]}→${group2[0]}`,
    );
    expect(fingerprint(), 'the working tree is untouched').toEqual(before);
  });

  // npm 11's dry run still asks the registry for the package document (to see whether the version
  // exists) and carries on when that fails. So it runs with the network cut where the kernel allows
  // (unshare -rn), else against a dead registry and proxy; any request that got an answer fails the
  // test. What it would upload is proven to be the tarball checked above: same sha1, same file count.
  it('npm publish --dry-run of every tarball succeeds with no network', async () => {
    const failures: string[] = [];
    for (const p of publishable) {
      const file = tarball(p.name);
      const args = ['publish', '--dry-run', file, '--registry', DEAD_REGISTRY, '--fetch-retries=0'];
      const r = await run(...offline('npm', [...args, '--loglevel', 'http']), { env: offlineEnv() });
      const out = r.stdout + r.stderr;
      if (r.code !== 0) failures.push(`${p.name}: exit ${r.code}\n${out}`);
      else if (!out.includes(`+ ${p.name}@${p.version}`))
        failures.push(`${p.name}: no "+ ${p.name}@${p.version}"\n${out}`);
      const answered = out
        .split('\n')
        .filter((l) => /npm http fetch/.test(l))
        .filter((l) => !l.includes(DEAD_REGISTRY) || !/attempt \d+ failed with E[A-Z]+/.test(l));
      if (answered.length)
        failures.push(`${p.name}: the dry run reached the network:\n${answered.join('\n')}`);
      const sha1 = createHash('sha1').update(readFileSync(file)).digest('hex');
      if (!new RegExp(`shasum:\\s+${sha1}`).test(out))
        failures.push(`${p.name}: dry run shasum is not ${sha1}`);
      const count = spawnSync('tar', ['-tzf', file], { encoding: 'utf8' }).stdout.trim().split('\n').length;
      if (!new RegExp(`total files:\\s+${count}\\b`).test(out))
        failures.push(`${p.name}: dry run file count ≠ ${count}`);
      const access = p.manifest['publishConfig']?.['access'];
      if (p.name.startsWith('@') && access !== 'public')
        failures.push(`${p.name}: publishConfig.access is not public`);
    }
    expect(failures).toEqual([]);
    for (const p of publishable) note(p.name, 'dry-run ok');
  });
});

// ——— installing ———

interface Installed {
  dir: string;
  ms: number;
  /** Our packages present in node_modules (names). */
  ours: string[];
}

function install(name: string): Promise<Installed> {
  let p = installs.get(name);
  if (!p) {
    p = doInstall(name);
    installs.set(name, p);
  }
  return p;
}

/** Every workspace package `name` depends on (dependencies and optionalDependencies), transitively. */
function closure(name: string): string[] {
  const seen = new Set<string>([name]);
  const queue = [name];
  while (queue.length) {
    const m = ws.get(queue.shift()!)!.manifest;
    for (const dep of Object.keys({ ...m['dependencies'], ...m['optionalDependencies'] })) {
      if (ws.has(dep) && !seen.has(dep)) {
        seen.add(dep);
        queue.push(dep);
      }
    }
  }
  return [...seen];
}

async function doInstall(name: string): Promise<Installed> {
  const members = closure(name);
  const dir = join(scratch, `install-${name.replace(/^@/, '').replace('/', '-')}`);
  mkdirSync(dir);
  const spec = (n: string) => `file:${tarball(n)}`;
  const manifest = {
    name: 'publish-check-consumer',
    private: true,
    dependencies: Object.fromEntries(members.filter((n) => !ws.get(n)!.platform).map((n) => [n, spec(n)])),
    // Platform binaries stay optional, as they are for their parents: the one for this machine installs.
    optionalDependencies: Object.fromEntries(
      members.filter((n) => ws.get(n)!.platform).map((n) => [n, spec(n)]),
    ),
    // Without these npm would also ask the registry about our own names (to dedupe the edges from the
    // tarballs' package.json files); `ninep` is unscoped, so that could even fetch someone else's.
    overrides: Object.fromEntries(members.filter((n) => n !== name).map((n) => [n, `$${n}`])),
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const r = await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel', 'http'],
    {
      cwd: dir,
      env: npmEnv(),
    },
  );
  expect(r.code, `npm install of ${name}:\n${r.stderr}`).toBe(0);
  const ourFetches = r.stderr
    .split('\n')
    .filter((l) => /npm http fetch/.test(l))
    .filter((l) => members.some((n) => decodeURIComponent(l).toLowerCase().includes(`/${n}`)));
  expect(ourFetches, `npm asked a registry for one of our own packages`).toEqual([]);

  const lock = readJson(join(dir, 'node_modules', '.package-lock.json'));
  const ours: string[] = [];
  for (const [path, entry] of Object.entries(lock['packages'] as Record<string, Manifest>)) {
    const n = path.replace(/^.*node_modules\//, '');
    if (!ws.has(n) || !existsSync(join(dir, path))) continue;
    ours.push(n);
    expect(String(entry['resolved']), `${n} comes from our tarball`).toMatch(/^file:/);
  }
  for (const n of members) {
    const pkg = ws.get(n)!;
    const fits =
      !pkg.platform ||
      (pkg.manifest['os'].includes(process.platform) && pkg.manifest['cpu'].includes(process.arch));
    expect(ours.includes(n), `${n} ${fits ? 'is' : 'is not'} installed for ${name}`).toBe(fits);
  }
  return { dir, ms: r.ms, ours };
}

/** Files and folders under node_modules that are, or build, native code. */
function nativeCode(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const rel = relative(dir, p);
      if (e.isDirectory()) {
        if (/(^|\/)@vmw9\/backdoor-native/.test(rel) && !found.includes(rel)) found.push(rel);
        walk(p);
      } else if (e.name.endsWith('.node') || e.name === 'binding.gyp') found.push(rel);
      else if (e.name === 'package.json' && readJson(p)['gypfile'] === true) found.push(`${rel} (gypfile)`);
    }
  };
  walk(join(dir, 'node_modules'));
  return found;
}

// ——— the workspace ———

function readWorkspace(): Map<string, Pkg> {
  const out = new Map<string, Pkg>();
  for (const top of ['packages', 'apps', 'tools']) {
    if (!existsSync(join(ROOT, top))) continue;
    for (const name of readdirSync(join(ROOT, top)).sort()) {
      const file = join(ROOT, top, name, 'package.json');
      if (!existsSync(file)) continue;
      const manifest = readJson(file);
      out.set(manifest['name'], {
        name: manifest['name'],
        version: manifest['version'] ?? '',
        dir: `${top}/${name}`,
        manifest,
        platform: Array.isArray(manifest['os']) || Array.isArray(manifest['cpu']),
        publishable: manifest['private'] !== true && top !== 'tools',
      });
    }
  }
  return out;
}

function tarball(name: string): string {
  const t = tarballs.get(name);
  if (!t) throw new Error(`${name} was not packed (see the pack test)`);
  return t;
}

function packedManifestText(name: string): string {
  const r = spawnSync('tar', ['-xzOf', tarball(name), 'package/package.json'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

/** detect() as the workspace's own build sees this machine, for comparison with the installed one. */
function workspaceDetect(): unknown {
  if (workspaceDetection === undefined) {
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const d = (await import('@vmw9/backdoor-native')).detect();
         console.log(JSON.stringify({ available: d.available, reason: d.reason, cpu: d.cpu, arch: d.arch }));`,
      ],
      { cwd: join(ROOT, 'packages/backdoor-native'), encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    workspaceDetection = JSON.parse(r.stdout.trim().split('\n').pop()!);
  }
  return workspaceDetection;
}

/** The files `changeset version` reads and writes, copied out of the working tree. */
function copyForChangesets(copy: string): void {
  const files = ['package.json', 'pnpm-workspace.yaml'];
  for (const f of readdirSync(join(ROOT, '.changeset'))) files.push(`.changeset/${f}`);
  for (const p of ws.values()) {
    files.push(`${p.dir}/package.json`);
    if (existsSync(join(ROOT, p.dir, 'CHANGELOG.md'))) files.push(`${p.dir}/CHANGELOG.md`);
  }
  for (const f of files) {
    mkdirSync(dirname(join(copy, f)), { recursive: true });
    copyFileSync(join(ROOT, f), join(copy, f));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
}

/** Package names in the frontmatter of the pending changesets, and the files where none was found. */
function pendingChangesets(dir: string): { named: string[]; malformed: string[] } {
  const named: string[] = [];
  const malformed: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.md') || f === 'README.md') continue;
    const front = /^\s*---\n([\s\S]*?)\n---/.exec(readFileSync(join(dir, f), 'utf8'))?.[1] ?? '';
    const found = [...front.matchAll(/^\s*["']?([^"':\n]+)["']?\s*:\s*(major|minor|patch)\s*$/gm)];
    if (!found.length) malformed.push(f);
    for (const m of found) named.push(m[1]!);
  }
  return { named, malformed };
}

/** A hash of every package.json and the .changeset folder of the working tree. */
function fingerprint(): string {
  const h = createHash('sha256');
  const files = [
    'package.json',
    ...[...ws.values()].map((p) => `${p.dir}/package.json`),
    ...readdirSync(join(ROOT, '.changeset')).map((f) => `.changeset/${f}`),
  ];
  for (const f of files.sort()) h.update(`${f}\0${readFileSync(join(ROOT, f))}\0`);
  return h.digest('hex');
}

// ——— processes ———

function run(cmd: string, args: string[], opts: SpawnOptions = {}): Promise<Run> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 }),
    );
  });
}

/** npm's environment: no update check, nothing inherited from the pnpm that runs the tests. */
function npmEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env))
    if (/^npm_(config_user_agent|lifecycle_|package_|command)/.test(k)) delete env[k];
  env['npm_config_update_notifier'] = 'false';
  return env;
}

/** For the offline steps: a dead registry and proxy as well, should anything try. */
function offlineEnv(): NodeJS.ProcessEnv {
  return {
    ...npmEnv(),
    npm_config_registry: DEAD_REGISTRY,
    HTTP_PROXY: DEAD_REGISTRY,
    HTTPS_PROXY: DEAD_REGISTRY,
    http_proxy: DEAD_REGISTRY,
    https_proxy: DEAD_REGISTRY,
  };
}

/** Runs the command in a new network namespace with no interfaces up, where the kernel allows it. */
function offline(cmd: string, args: string[]): [string, string[]] {
  return canUnshare ? ['unshare', ['-rn', cmd, ...args]] : [cmd, args];
}

// ——— small helpers ———

function readJson(file: string): Manifest {
  return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
}

function lastJson(out: Run): unknown {
  const line = out.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`expected JSON on the last line of stdout, got:\n${out.stdout}\n${out.stderr}`);
  }
}

function note(name: string, text: string): void {
  if (!summary.has(name)) summary.set(name, []);
  summary.get(name)!.push(text);
}

function parseVersion(v: string): number[] {
  return v.split(/[-+]/)[0]!.split('.').map(Number);
}

function semverGt(a: string, b: string): boolean {
  const [x, y] = [parseVersion(a), parseVersion(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! > y[i]!;
  return false;
}
