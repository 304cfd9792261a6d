/**
 * One socket everyone finds, and `vmw9 status`: an agent started with no --listen on a scratch
 * XDG_RUNTIME_DIR, found by `status`, `9p` and `mount --dry-run` given no address; no agent, a
 * stale socket and a tree served without the agent each fail with one line saying which.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bin, type Run, runVmw9 } from './sim-host.js';

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const gone = new Promise((r) => c.on('close', r));
    c.kill('SIGTERM');
    await gone;
  }
});

/** A scratch XDG_RUNTIME_DIR (0700, as a login session's) and the socket the default puts in it. */
function runtime() {
  const xdg = join(mkdtempSync(join(tmpdir(), 'vmw9-status-')), 'run');
  mkdirSync(xdg, { mode: 0o700 });
  return { xdg, sock: join(xdg, 'vmw9', 'vmware.sock') };
}

/** The built vmw9 with XDG_RUNTIME_DIR set (asynchronous: an agent of this test may be serving). */
const vmw9 = (xdg: string, args: string[]): Promise<Run> =>
  runVmw9(args, '', { XDG_RUNTIME_DIR: xdg, VMW9_BACKDOOR: '' });

/** Starts `vmw9 --host sim CMD` (agent or serve) with no --listen; resolves once its socket is there. */
async function daemon(xdg: string, sock: string, cmd: 'agent' | 'serve'): Promise<ChildProcess> {
  const c = spawn(process.execPath, [bin, '--host', 'sim', cmd], {
    env: { ...process.env, XDG_RUNTIME_DIR: xdg, VMW9_BACKDOOR: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(c);
  let err = '';
  c.stderr!.on('data', (d) => (err += d));
  // Waits for the socket, never for a fixed time; the test's own limit bounds it.
  while (!existsSync(sock)) {
    if (c.exitCode !== null) throw new Error(`vmw9 ${cmd} exited: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return c;
}

describe('vmw9 status', () => {
  it('finds the agent on the default socket and reports it; --json too', async () => {
    const { xdg, sock } = runtime();
    await daemon(xdg, sock, 'agent');
    const r = await vmw9(xdg, ['status']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^agent +vmw9-agent \S+, pid \d+, up /m);
    expect(/^socket +(.*)$/m.exec(r.out)?.[1]).toBe(sock);
    expect(r.out).toMatch(/^transport +sim /m);
    expect(r.out).toMatch(/^tclo toolbox +(open|opening), \d+ commands, \d+ errors/m);
    expect(r.out).toMatch(/^services +power timesync guestinfo/m);
    expect(r.out).toMatch(/^stats +backdoorCalls \d+, backdoorErrors \d+, .*requests \d+$/m);

    const j = await vmw9(xdg, ['--json', 'status']);
    expect(j.code).toBe(0);
    const s = JSON.parse(j.out);
    expect(s).toMatchObject({
      socket: sock,
      address: `unix!${sock}`,
      agent: expect.stringMatching(/^vmw9-agent /),
    });
    expect(s.transport).toMatch(/^sim /);
    expect(s.uptime).toEqual(expect.any(Number));
    expect(s.tclo[0]).toMatchObject({ app: 'toolbox', commands: expect.any(Number) });
    expect(s.services.map((v: { name: string }) => v.name)).toContain('power');
    expect(Object.keys(s.stats)).toContain('tcloCommands');
    expect(s.stats.connections).toBeGreaterThan(0);
  });

  it('9p and mount --dry-run given no address reach the same agent; a bare path is a socket', async () => {
    const { xdg, sock } = runtime();
    await daemon(xdg, sock, 'agent');
    const v = await vmw9(xdg, ['9p', 'read', '/version']);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^agent vmw9-agent .*\ntransport sim /ms);
    const ls = await vmw9(xdg, ['9p', 'ls', '/']);
    expect(ls.out).toMatch(/ status$/m);
    const bare = await vmw9(xdg, ['9p', 'read', sock, '/version']);
    expect(bare.out).toBe(v.out);
    const m = await vmw9(xdg, ['mount', '--dry-run', '--dir', '/mnt/x']);
    expect(m.code).toBe(0);
    expect(m.out).toBe(
      `mount -t 9p -o trans=unix,version=9p2000.L,access=any,cache=none,msize=262144 ${sock} /mnt/x\n`,
    );
    const bySocket = await vmw9(xdg, ['status', '--socket', sock]);
    expect(bySocket.code).toBe(0);
  });

  it('no agent: exit 1 and one line naming the socket and how to start one; 9p and mount say the same', async () => {
    const { xdg, sock } = runtime();
    const r = await vmw9(xdg, ['status']);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(`vmw9: no agent: no socket at ${sock} (start one with: vmw9 agent)\n`);
    const j = await vmw9(xdg, ['--json', 'status']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.out)).toMatchObject({ socket: sock, state: 'absent', error: expect.any(String) });
    const p = await vmw9(xdg, ['9p', 'read', '/version']);
    expect(p.code).toBe(1);
    expect(p.err).toBe(`9p: no agent: no socket at ${sock} (start one with: vmw9 agent)\n`);
    const pj = await vmw9(xdg, ['--json', '9p', 'read', '/version']);
    expect(pj.code).toBe(1);
    expect(JSON.parse(pj.out)).toEqual({
      error: `no agent: no socket at ${sock} (start one with: vmw9 agent)`,
    });
    const m = await vmw9(xdg, ['mount', '--dry-run']);
    expect(m.code).toBe(1);
    expect(m.err).toMatch(/^vmw9: no agent: no socket at /);
  });

  it('a stale socket (its agent killed) is said to be stale', async () => {
    const { xdg, sock } = runtime();
    const agent = await daemon(xdg, sock, 'agent');
    const gone = new Promise((r) => agent.on('close', r));
    agent.kill('SIGKILL');
    await gone;
    expect(existsSync(sock)).toBe(true);
    const r = await vmw9(xdg, ['status']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      new RegExp(`^vmw9: no agent: nothing answers at ${sock}, a stale socket .*vmw9 agent\\)\\n$`),
    );
  });

  it('the tree served without the agent (vmw9 serve): says so, prints what it can, exit 1', async () => {
    const { xdg, sock } = runtime();
    await daemon(xdg, sock, 'serve');
    const r = await vmw9(xdg, ['status']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^server +vmw9-fs /m);
    expect(r.out).toMatch(/^transport +sim /m);
    expect(r.err).toMatch(/^vmw9: no agent at .*: the vmw9 tree served without the agent .*no \/status\n$/);
    const j = await vmw9(xdg, ['--json', 'status']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.out)).toMatchObject({
      agent: null,
      server: expect.stringMatching(/^vmw9-fs /),
      socket: sock,
    });
  });

  it('a TCP address nobody listens on: no agent, said so', async () => {
    const { xdg } = runtime();
    // Port 0 is never listened on: connecting to it is refused at once.
    const r = await vmw9(xdg, ['status', '--socket', 'tcp!127.0.0.1!0']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^vmw9: no agent: cannot connect to tcp!127\.0\.0\.1!0: /);
  });

  it('a bad --socket is a usage error', async () => {
    const { xdg } = runtime();
    const r = await vmw9(xdg, ['status', '--socket', 'tcp!nohost']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^vmw9: --socket: dial string "tcp!nohost"/);
  });
});
