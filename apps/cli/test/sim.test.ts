/** `vmw9 sim` as a script uses it: console lines on standard input, another process as the guest. */
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** Polls until `cond` holds; the test's own limit bounds the wait. */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
}

describe('vmw9 sim', () => {
  it('serves a host that another vmw9 reaches with --host unix!PATH; console answers; SIGTERM stops it cleanly', async () => {
    const sock = join(mkdtempSync(join(tmpdir(), 'vmw9-sim-')), 'host.sock');
    const sim = spawn(process.execPath, [bin, 'sim', '--listen', `unix!${sock}`, '--set', 'productType=4'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    sim.stdout.on('data', (d) => (out += d));
    sim.stderr.on('data', (d) => (err += d));
    // Each step waits for the simulator's own answer, never for a fixed time (a busy machine is slow).
    await until(() => existsSync(sock) && /listening on unix!/.test(err));
    expect(err).toMatch(/simulated VMware host \(not a real one\) is listening on unix!/);
    sim.stdin.write('fact memoryMB 2048\n');
    await until(() => out.includes('memoryMB 2048'));
    const host = spawnSync(process.execPath, [bin, '--host', `unix!${sock}`, '--json', 'host'], {
      encoding: 'utf8',
      timeout: 50_000,
    });
    expect(host.status).toBe(0);
    const facts = JSON.parse(host.stdout).facts;
    expect(facts.version.value.productType).toBe(4);
    expect(facts.memory.value.megabytes).toBe(2048);
    sim.stdin.write('counts\n');
    await until(() => /total \d+/.test(out));
    expect(out).toMatch(/memoryMB 2048[\s\S]*GETVERSION \d+[\s\S]*total \d+/);
    sim.kill('SIGTERM');
    const code = await new Promise((r) => sim.on('close', r));
    expect(code).toBe(0);
    expect(existsSync(sock)).toBe(false);
  });

  it('--json: the address first, then one object per console command', async () => {
    const sock = join(mkdtempSync(join(tmpdir(), 'vmw9-sim-')), 'host.sock');
    const sim = spawn(process.execPath, [bin, '--json', 'sim', '--listen', sock], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    sim.stdout.on('data', (d) => (out += d));
    await until(() => out.includes('\n'));
    expect(JSON.parse(out.split('\n')[0]!)).toEqual({
      address: `unix!${sock}`,
      productType: 2,
      hb: true,
      legacyClipboard: true,
      guestlib: { sessionId: expect.stringMatching(/^0x[0-9a-f]+$/) },
      hgfs: { largePackets: true, maxPacketSize: 522240, shares: [] },
    });
    sim.stdin.write('fact memoryMB 2048\nfrobnicate\n');
    await until(() => out.split('\n').length >= 4);
    const [, fact, bad] = out.split('\n').map((l) => (l ? JSON.parse(l) : null));
    expect(fact).toMatchObject({
      command: 'fact memoryMB 2048',
      ok: true,
      answer: expect.stringMatching(/2048/),
    });
    expect(bad).toMatchObject({ command: 'frobnicate', ok: false });
    sim.kill('SIGTERM');
    expect(await new Promise((r) => sim.on('close', r))).toBe(0);
  });

  it('--no-legacy-clipboard: the host refuses the legacy clipboard and says so; clip set waits for a version 4 guest', async () => {
    const sock = join(mkdtempSync(join(tmpdir(), 'vmw9-sim-')), 'host.sock');
    const sim = spawn(process.execPath, [bin, '--json', 'sim', '--listen', sock, '--no-legacy-clipboard'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    sim.stdout.on('data', (d) => (out += d));
    sim.stderr.on('data', (d) => (err += d));
    await until(() => out.includes('\n'));
    expect(JSON.parse(out.split('\n')[0]!)).toMatchObject({ legacyClipboard: false });
    expect(err).toMatch(/legacy backdoor clipboard is refused: copy\/paste goes over version 4 only/);
    sim.stdin.write('clip set hello\nclip\nclip request\n');
    await until(() => out.split('\n').length >= 5);
    const [, set, show, request] = out.split('\n').map((l) => (l ? JSON.parse(l) : null));
    expect(set).toMatchObject({
      ok: true,
      answer: 'host clipboard: 5 bytes; pushed when a guest negotiates copy/paste version 4',
    });
    expect(show.answer).toMatch(/^text 6 bytes "hello"\n[\s\S]*legacy clipboard refused$/);
    expect(request).toMatchObject({
      ok: false,
      answer: 'error: no guest has negotiated copy/paste version 4',
    });
    sim.kill('SIGTERM');
    expect(await new Promise((r) => sim.on('close', r))).toBe(0);
  });

  it('drop: the answer at once, then progress and the outcome as lines (notices), with a vmw9 agent as the guest; --json gives them as {notice}', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmw9-sim-'));
    const sock = join(dir, 'host.sock');
    const sim = spawn(process.execPath, [bin, '--json', 'sim', '--listen', sock], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    sim.stdout.on('data', (d) => (out += d));
    await until(() => out.includes('\n'));
    const run = join(dir, 'run');
    mkdirSync(run, { mode: 0o700 });
    const agent = spawn(
      process.execPath,
      [
        bin,
        '--host',
        `unix!${sock}`,
        'agent',
        '--level',
        'warn',
        '--listen',
        `unix!${join(run, 'tree.sock')}`,
        '--dnd-dir',
        join(dir, 'staged'),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, XDG_RUNTIME_DIR: run } },
    );
    try {
      const lines = () =>
        out
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l));
      // Ask until the agent has negotiated drag and drop (each answer is its own line).
      while (!lines().some((l) => /^drag-and-drop version 4/.test(l.answer ?? ''))) {
        sim.stdin.write('dnd\n');
        await new Promise((r) => setTimeout(r, 100));
      }
      const file = join(dir, 'dropped file.txt');
      writeFileSync(file, 'from the host\n');
      sim.stdin.write(`drop "${file}"\n`);
      await until(() => lines().some((l) => /^drop \d+: (done|failed)/.test(l.notice ?? '')));
      const answer = lines().find((l) => l.command?.startsWith('drop '));
      expect(answer).toMatchObject({
        ok: true,
        answer: expect.stringMatching(/^drop \d+: dragging 1 item into the guest$/),
      });
      const notices = lines().flatMap((l) => (l.notice ? [l.notice as string] : []));
      expect(notices[0]).toMatch(/^drop \d+: the guest staged it in \/.*; writing the files$/);
      expect(notices.at(-1)).toMatch(
        /^drop \d+: done into \/.*: 1 file, 0 folders, 14 bytes; .*; GET_FILES_DONE 0$/,
      );
    } finally {
      agent.kill('SIGTERM');
      sim.kill('SIGTERM');
      await new Promise((r) => sim.on('close', r));
    }
  });

  it.runIf(process.getuid?.() === 0)(
    "refuses a default directory another user made first (it would own the socket's directory)",
    () => {
      const run = join(mkdtempSync(join(tmpdir(), 'vmw9-sim-')), 'run');
      mkdirSync(join(run, 'vmw9'), { recursive: true, mode: 0o700 });
      chownSync(join(run, 'vmw9'), 65534, 65534);
      const r = spawnSync(process.execPath, [bin, 'sim'], {
        encoding: 'utf8',
        env: { ...process.env, XDG_RUNTIME_DIR: run },
        timeout: 50_000,
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/runtime directory .*vmw9 is not a directory owned by this user/);
    },
  );

  it('refuses a TCP address and a bad --set with a usage error', () => {
    const tcp = spawnSync(process.execPath, [bin, 'sim', '--listen', 'tcp!127.0.0.1!9999'], {
      encoding: 'utf8',
    });
    expect(tcp.status).toBe(2);
    expect(tcp.stderr).toMatch(/unix!PATH only/);
    const bad = spawnSync(process.execPath, [bin, 'sim', '--set', 'nosuch=1'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown fact/);
  });

  it('--share: shared folders in the JSON status and the console; bad ones are usage errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmw9-sim-'));
    const docs = join(dir, 'docs');
    const pub = join(dir, 'pub');
    mkdirSync(docs);
    mkdirSync(pub);
    const sock = join(dir, 'host.sock');
    const sim = spawn(
      process.execPath,
      [
        bin,
        '--json',
        'sim',
        '--listen',
        sock,
        '--share',
        `docs=${docs}`,
        '--share',
        `pub=${pub}:ro`,
        '--no-hgfs-large',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    sim.stdout.on('data', (d) => (out += d));
    await until(() => out.includes('\n'));
    expect(JSON.parse(out.split('\n')[0]!).hgfs).toEqual({
      largePackets: false,
      maxPacketSize: 63488,
      shares: [
        { name: 'docs', dir: docs, readOnly: false },
        { name: 'pub', dir: pub, readOnly: true },
      ],
    });
    sim.stdin.write('share rm pub\nshare\n');
    await until(() => out.split('\n').length >= 4);
    const [, rm, ls] = out.split('\n').map((l) => (l ? JSON.parse(l) : null));
    expect(rm).toMatchObject({ ok: true, answer: 'pub no longer shared' });
    expect(ls).toMatchObject({ ok: true, answer: `docs ${docs}` });
    sim.kill('SIGTERM');
    expect(await new Promise((r) => sim.on('close', r))).toBe(0);
    for (const [spec, why] of [
      ['nodir', /NAME=DIR/],
      [`a/b=${docs}`, /contains "\/"/],
      [`x=${join(dir, 'missing')}`, /ENOENT/],
    ] as const) {
      const r = spawnSync(process.execPath, [bin, 'sim', '--listen', join(dir, 'no.sock'), '--share', spec], {
        encoding: 'utf8',
      });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(why);
    }
    const twice = spawnSync(
      process.execPath,
      [bin, 'sim', '--listen', join(dir, 'no.sock'), '--share', `d=${docs}`, '--share', `d=${pub}`],
      {
        encoding: 'utf8',
      },
    );
    expect(twice.status).toBe(2);
    expect(twice.stderr).toMatch(/share "d" exists/);
  });

  it('--guestlib sets statistics (the console shows them), --no-guestlib turns the Guest API off; bad ones are usage errors', async () => {
    const sock = join(mkdtempSync(join(tmpdir(), 'vmw9-sim-')), 'host.sock');
    const sim = spawn(
      process.execPath,
      [
        bin,
        '--json',
        'sim',
        '--listen',
        sock,
        '--guestlib',
        'MEM_BALLOONED_MB=300',
        '--guestlib',
        'RESOURCE_POOL_PATH=/a b',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    sim.stdout.on('data', (d) => (out += d));
    await until(() => out.includes('\n'));
    sim.stdin.write('guestlib\n');
    await until(() => out.split('\n').length >= 3);
    const shown = JSON.parse(out.split('\n')[1]!).answer as string;
    expect(shown).toContain('12 MEM_BALLOONED_MB 300');
    expect(shown).toContain('18 RESOURCE_POOL_PATH "/a b"');
    sim.kill('SIGTERM');
    expect(await new Promise((r) => sim.on('close', r))).toBe(0);

    const off = spawn(process.execPath, [bin, '--json', 'sim', '--listen', `${sock}2`, '--no-guestlib'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let offOut = '';
    off.stdout.on('data', (d) => (offOut += d));
    await until(() => offOut.includes('\n'));
    expect(JSON.parse(offOut.split('\n')[0]!)).toMatchObject({ guestlib: false });
    off.kill('SIGTERM');
    expect(await new Promise((r) => off.on('close', r))).toBe(0);

    for (const [arg, message] of [
      ['MEM_BALLOON=1', /no guestlib statistic "MEM_BALLOON"/],
      ['MEM_LIMIT_MB=-1', /decimal/],
      ['MEM_LIMIT_MB', /NAME=VALUE/],
    ] as const) {
      const bad = spawnSync(process.execPath, [bin, 'sim', '--listen', `${sock}3`, '--guestlib', arg], {
        encoding: 'utf8',
      });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(message);
    }
  });
});
