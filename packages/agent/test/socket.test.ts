/**
 * The agent against vmx-sim in another place than its own heap: over the simulator's Unix socket
 * (host: 'unix!PATH'), and as a separate process stopped by SIGTERM while a client holds the tree.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveHost, VmxHost } from '@vmw9/vmx-sim';
import { NinepClient } from 'ninep';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentLog } from '../src/index.js';
import { cleanup, handshake, markerScript, startOnSim, tempDir, waitFor } from './helpers.js';

afterEach(cleanup);

describe('over the simulator socket', () => {
  it('OS_Halt runs the script and the status reaches the host; guestinfo shows in the tree', async () => {
    const dir = tempDir();
    const host = new VmxHost();
    const sim = await serveHost(host, join(dir, 'vmx.sock'));
    try {
      const marker = join(dir, 'marker');
      const script = markerScript(dir, 'halt.sh', marker);
      const s = await startOnSim({
        dir,
        config: `[powerops]\npoweroff-script = ${script}\nshutdown-command = touch ${dir}/shutdown-ran\nsystem-actions = false\n`,
        agent: { host: `unix!${join(dir, 'vmx.sock')}` },
      });
      expect(s.agent.transport.kind).toBe('unix');
      await handshake(host);
      host.tclo.queueCommand('OS_Halt', 'toolbox');
      await waitFor('the halt status', () => host.rpci.stateChanges.length > 0);
      expect(host.rpci.stateChanges).toEqual([{ success: true, state: 1 }]);
      expect(readFileSync(marker, 'utf8')).toBe('ran halt\n');
      expect(existsSync(join(dir, 'shutdown-ran'))).toBe(false);
      host.rpci.setGuestinfo('guestinfo.over', 'the socket');
      const c = await s.client();
      expect((await c.readFile('guestinfo/over')).toString()).toBe('the socket');
      expect((await c.readFile('version')).toString()).toMatch(
        /transport sim at unix!.*not a real VMware host/,
      );
      await s.agent.stop();
      expect(sim.connections()).toBe(0);
    } finally {
      await sim.close();
    }
  });
});

describe('runAgent in its own process', () => {
  it('SIGTERM while a client holds the tree open: exits 0, socket gone, client closed', async () => {
    const dir = tempDir();
    const conf = join(dir, 'agent.conf');
    writeFileSync(conf, '[powerops]\nsystem-actions = false\n[guestinfo]\npoll-interval = 1s\n');
    const fsPath = join(dir, 'fs.sock');
    const fixture = fileURLToPath(new URL('./fixtures/run-agent.mjs', import.meta.url));
    const child = spawn(process.execPath, [fixture, conf, 'sim', `unix!${fsPath}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await waitFor('the agent to start', () => out.includes('ready'), 10_000);
      const c = await NinepClient.connect(`unix!${fsPath}`);
      const fid = await c.walk('events');
      await c.open(fid, 'r');
      const pending = c.read(fid, 0, 8192).then(
        () => 'data',
        (e: Error) => e.message,
      );
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('stopped');
      expect(await pending).toMatch(/connection closed|ECONNRESET|EPIPE/);
      expect(existsSync(fsPath)).toBe(false);
      expect(err).toContain('running on the embedded simulated host, not a real VMware host');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('logging', () => {
  it('identical messages are logged once per window, then with a repeat count', async () => {
    const lines: string[] = [];
    const log = new AgentLog({ stream: { write: (l) => void lines.push(l) }, repeatWindowMs: 200 });
    for (let i = 0; i < 5; i++) log.logger.warn({ err: 'x' }, 'the host is gone');
    log.logger.warn('something else');
    expect(lines).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 250));
    log.logger.warn({ err: 'x' }, 'the host is gone');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[2]!)).toMatchObject({ msg: 'the host is gone', repeated: 4, level: 40 });
    expect(log.recent()).toMatch(/warn the host is gone err=x\n/);
  });

  it('the agent log is in the tree as kmesg', async () => {
    const s = await startOnSim();
    const c = await s.client();
    expect((await c.readFile('kmesg')).toString()).toContain('running on the embedded simulated host');
  });
});
