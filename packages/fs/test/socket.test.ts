/**
 * One socket everyone finds: the tree's default address for each kind of user, a server there by
 * default, a bare path taken as a Unix socket, and how a client finds the agent (its own default,
 * else the system agent's socket). Also the `status` and `stats` formats read back.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpciClient } from '@vmw9/rpc';
import { SimBackdoorPort, VmxHost } from '@vmw9/vmx-sim';
import { NinepClient } from 'ninep';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AgentStatus,
  buildVmwareTree,
  defaultTreeSocket,
  findAgentSocket,
  formatAgentStatus,
  parseAgentStatus,
  parseStats,
  type ServedTree,
  STAT_FIELDS,
  SYSTEM_AGENT_SOCKET,
  serveVmwareTree,
} from '../src/index.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const scratch = () => mkdtempSync(join(tmpdir(), 'vmw9-socket-'));

function tree() {
  const port = new SimBackdoorPort(new VmxHost());
  return buildVmwareTree({ port, rpc: RpciClient.overPort(port), transport: 'sim (test)' });
}

async function serve(listen?: string): Promise<ServedTree> {
  const s = await serveVmwareTree(tree(), listen === undefined ? {} : { listen });
  cleanups.push(() => s.close());
  return s;
}

/** A socket file nobody answers: a process listened there and was killed (SIGKILL leaves the file). */
function staleSocket(path: string): void {
  const code = `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
  const r = spawnSync(process.execPath, ['-e', code]);
  expect(r.signal).toBe('SIGKILL');
  expect(statSync(path).isSocket()).toBe(true);
}

describe('the default socket', () => {
  it('is $XDG_RUNTIME_DIR/vmw9/vmware.sock when XDG_RUNTIME_DIR is set, for root too', () => {
    const env = { XDG_RUNTIME_DIR: '/run/user/1000' };
    expect(defaultTreeSocket({ env, uid: 1000 })).toBe('/run/user/1000/vmw9/vmware.sock');
    expect(defaultTreeSocket({ env, uid: 0 })).toBe('/run/user/1000/vmw9/vmware.sock');
  });

  it.runIf(existsSync('/run'))("is the system agent's /run/vmw9/vmware.sock for root without it", () => {
    expect(defaultTreeSocket({ env: {}, uid: 0 })).toBe('/run/vmw9/vmware.sock');
    expect(SYSTEM_AGENT_SOCKET).toBe('/run/vmw9/vmware.sock');
  });

  it('is <tmpdir>/vmw9-<uid>/vmware.sock for another user without it', () => {
    expect(defaultTreeSocket({ env: {}, uid: 1000 })).toBe(join(tmpdir(), 'vmw9-1000', 'vmware.sock'));
  });

  it('is where the tree is served when no address is given: 0600 socket, 0700 directory', async () => {
    const xdg = scratch();
    const saved = process.env['XDG_RUNTIME_DIR'];
    process.env['XDG_RUNTIME_DIR'] = xdg;
    cleanups.push(() => {
      if (saved === undefined) delete process.env['XDG_RUNTIME_DIR'];
      else process.env['XDG_RUNTIME_DIR'] = saved;
    });
    const s = await serve();
    const path = join(xdg, 'vmw9', 'vmware.sock');
    expect(s.address).toBe(`unix!${path}`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(xdg, 'vmw9')).mode & 0o777).toBe(0o700);
    expect(await findAgentSocket({ env: { XDG_RUNTIME_DIR: xdg } })).toEqual({ path, state: 'live' });
  });
});

describe('a bare path', () => {
  it('is a Unix socket wherever an address is taken', async () => {
    const path = join(scratch(), 'bare.sock');
    const s = await serve(path);
    expect(s.address).toBe(`unix!${path}`);
    const c = await NinepClient.connect(s.address);
    expect((await c.readFile('version')).toString()).toMatch(/^agent vmw9-fs /);
    c.close();
  });
});

describe('findAgentSocket', () => {
  const setup = () => {
    const xdg = scratch();
    mkdirSync(join(xdg, 'vmw9'));
    const sys = join(scratch(), 'system.sock');
    return {
      ctx: { env: { XDG_RUNTIME_DIR: xdg }, systemSocket: sys },
      mine: join(xdg, 'vmw9', 'vmware.sock'),
      sys,
    };
  };

  it("nothing anywhere: the user's default, absent", async () => {
    const { ctx, mine } = setup();
    expect(await findAgentSocket(ctx)).toEqual({ path: mine, state: 'absent' });
  });

  it("nothing at the default but the system agent's socket: that one", async () => {
    const { ctx, sys } = setup();
    await serve(sys);
    expect(await findAgentSocket(ctx)).toEqual({ path: sys, state: 'live' });
  });

  it('a live default wins over the system agent', async () => {
    const { ctx, mine, sys } = setup();
    await serve(sys);
    await serve(mine);
    expect(await findAgentSocket(ctx)).toEqual({ path: mine, state: 'live' });
  });

  it('a stale default: the live system agent, else the stale default (to say so)', async () => {
    const { ctx, mine, sys } = setup();
    staleSocket(mine);
    expect(await findAgentSocket(ctx)).toEqual({ path: mine, state: 'stale' });
    await serve(sys);
    expect(await findAgentSocket(ctx)).toEqual({ path: sys, state: 'live' });
  });

  it('a file that is not a socket is said to be one', async () => {
    const { ctx, mine } = setup();
    writeFileSync(mine, '');
    expect(await findAgentSocket(ctx)).toEqual({ path: mine, state: 'not-socket' });
  });
});

describe('the status and stats formats', () => {
  it('status reads back what was written, one KEY VALUE line each', () => {
    const s: AgentStatus = {
      agent: 'vmw9-agent 1.2.3',
      pid: 42,
      address: 'unix!/run/vmw9/vmware.sock',
      transport: 'sim (the embedded simulated host)',
      started: new Date('2026-01-02T03:04:05.678Z'),
      uptime: 75,
      resets: 2,
      tclo: [
        {
          app: 'toolbox',
          state: 'reopening',
          commands: 9,
          errors: 1,
          lastError: 'channel closed\nby the host',
          last: { command: 'OS_Halt', ok: false, at: new Date('2026-01-02T03:05:00.000Z') },
        },
        { app: 'toolbox-dnd', state: 'open', commands: 0, errors: 0 },
      ],
      services: [
        { name: 'power', app: 'toolbox' },
        { name: 'resolution', app: 'toolbox-dnd' },
      ],
    };
    const text = formatAgentStatus(s);
    expect(text).toBe(
      [
        'agent vmw9-agent 1.2.3',
        'pid 42',
        'address unix!/run/vmw9/vmware.sock',
        'transport sim (the embedded simulated host)',
        'started 2026-01-02T03:04:05.678Z',
        'uptime 75',
        'resets 2',
        'tclo toolbox reopening 9 1',
        'lastcommand toolbox OS_Halt error 2026-01-02T03:05:00.000Z',
        'tcloerror toolbox channel closed by the host',
        'tclo toolbox-dnd open 0 0',
        'service power toolbox',
        'service resolution toolbox-dnd',
        '',
      ].join('\n'),
    );
    expect(parseAgentStatus(`${text}future line\n`)).toEqual({
      ...s,
      tclo: [{ ...s.tclo[0]!, lastError: 'channel closed by the host' }, s.tclo[1]],
    });
    expect(() => parseAgentStatus('agent x\n')).toThrow(/not an agent status/);
  });

  it('stats reads back by field name, in STAT_FIELDS order', () => {
    const line = STAT_FIELDS.map((_, i) => `${String(i * 3).padStart(11)} `).join('');
    const parsed = parseStats(`${line}\n`);
    expect(Object.keys(parsed)).toEqual([...STAT_FIELDS]);
    expect(parsed.tcloCommands).toBe(STAT_FIELDS.indexOf('tcloCommands') * 3);
  });
});

describe('findAgentSocket under sudo', () => {
  it("finds the invoking user's agent when root has none", async () => {
    // An unlikely uid, so its tmpdir form is this test's own directory.
    const sudoUid = '4242999';
    const dir = join(tmpdir(), `vmw9-${sudoUid}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const ctx = {
      env: { SUDO_UID: sudoUid, XDG_RUNTIME_DIR: scratch() },
      uid: 0,
      systemSocket: join(scratch(), 'system.sock'),
    };
    const userSock = join(dir, 'vmware.sock');
    expect((await findAgentSocket(ctx)).state).toBe('absent');
    await serve(userSock);
    expect(await findAgentSocket(ctx)).toEqual({ path: userSock, state: 'live' });
    // Not for another user than root: SUDO_UID is only sudo's word to root.
    expect((await findAgentSocket({ ...ctx, uid: 1000 })).path).not.toBe(userSock);
  });
});
