/**
 * `vmw9 snarf`: through the running agent when there is one (its `snarf`: copy/paste version 4
 * with a host that negotiated it), else straight to the host's legacy clipboard, said on stderr in
 * one line; a host that refuses the legacy clipboard and no agent is an error saying to start one.
 * Each run has its own XDG_RUNTIME_DIR, so "the running agent" is only ever this test's.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_CLIPBOARD_SEND } from '@vmw9/backdoor';
import { type SimServer, serveHost, VmxHost, type VmxHostOptions } from '@vmw9/vmx-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { bin, type Run, runVmw9 } from './sim-host.js';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (stops.length) await stops.pop()!();
});

/** A simulated host served on a socket from this process, and a scratch XDG_RUNTIME_DIR. */
async function hostAndRuntime(opts?: VmxHostOptions) {
  const dir = mkdtempSync(join(tmpdir(), 'vmw9-snarf-'));
  const xdg = join(dir, 'run');
  mkdirSync(xdg, { mode: 0o700 });
  const host = new VmxHost(opts);
  const server: SimServer = await serveHost(host, join(dir, 'h.sock'));
  stops.push(() => server.close());
  const addr = `unix!${join(dir, 'h.sock')}`;
  const vmw9 = (args: string[], stdin = ''): Promise<Run> =>
    runVmw9(['--host', addr, ...args], stdin, { XDG_RUNTIME_DIR: xdg });
  return { host, addr, xdg, sock: join(xdg, 'vmw9', 'vmware.sock'), vmw9 };
}

/** `vmw9 --host ADDR agent` on the default socket of `xdg`; resolves once the socket is there. */
async function agent(addr: string, xdg: string, sock: string): Promise<ChildProcess> {
  const c = spawn(process.execPath, [bin, '--host', addr, 'agent', '--log-format', 'json'], {
    env: { ...process.env, XDG_RUNTIME_DIR: xdg },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  c.stderr!.on('data', (d) => (err += d));
  const gone = new Promise<void>((r) => c.on('close', () => r()));
  stops.push(async () => {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await gone;
  });
  while (!existsSync(sock)) {
    if (c.exitCode !== null) throw new Error(`vmw9 agent exited: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return c;
}

const NOTE = `vmw9: snarf: no agent running; used the host's legacy clipboard (text only, up to ${MAX_CLIPBOARD_SEND} bytes)\n`;

describe('vmw9 snarf without an agent: the legacy clipboard, said on stderr', () => {
  it('copies standard input to the host clipboard and pastes it back', async () => {
    const { host, vmw9 } = await hostAndRuntime();
    const copy = await vmw9(['snarf', '-'], 'copied ✓');
    expect(copy).toMatchObject({ code: 0, out: '', err: NOTE });
    expect(host.clipboard.host.toString()).toBe('copied ✓');
    host.setHostClipboard('pasted from the host');
    expect(await vmw9(['snarf'])).toEqual({ code: 0, out: 'pasted from the host', err: NOTE });
    const j = await vmw9(['--json', 'snarf']);
    expect(JSON.parse(j.out)).toEqual({ text: 'pasted from the host', via: 'legacy' });
    expect((await vmw9(['snarf', 'x'])).code).toBe(2);
  });

  it('over the legacy limit: an error naming it and the agent, nothing copied', async () => {
    const { host, vmw9 } = await hostAndRuntime();
    host.setHostClipboard('before');
    const r = await vmw9(['snarf', '-'], 'a'.repeat(MAX_CLIPBOARD_SEND + 1));
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `vmw9: snarf: ${MAX_CLIPBOARD_SEND + 1} bytes is over the host's legacy clipboard limit of ${MAX_CLIPBOARD_SEND} bytes, and no agent is running (start one: vmw9 agent; it uses copy/paste v4, up to 4 MiB, when the host offers it)\n`,
    );
    expect(host.clipboard.host.toString()).toBe('before');
  });

  it('a host that refuses the legacy clipboard: one line telling to start the agent', async () => {
    const { vmw9 } = await hostAndRuntime({ unsupported: [6, 7, 8, 9] });
    for (const args of [['snarf'], ['snarf', '-']]) {
      const r = await vmw9(args, 'x');
      expect(r).toEqual({
        code: 1,
        out: '',
        err: 'vmw9: snarf: no agent running, and the host refuses its legacy clipboard: start the agent (vmw9 agent), which uses copy/paste v4\n',
      });
    }
  });

  it('--socket naming no agent is an error, not a fallback', async () => {
    const { vmw9, xdg } = await hostAndRuntime();
    const none = join(xdg, 'none.sock');
    const r = await vmw9(['snarf', '--socket', none]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`vmw9: no agent: no socket at ${none} (start one with: vmw9 agent)\n`);
  });
});

describe('vmw9 snarf with an agent running: its snarf', () => {
  it('copies and pastes through the agent over copy/paste v4, saying nothing on stderr', async () => {
    // A host with only the RPC protocol: the legacy commands refused.
    const { host, addr, xdg, sock, vmw9 } = await hostAndRuntime({ legacyClipboard: false });
    await agent(addr, xdg, sock);
    await waitFor('copy/paste v4 negotiated', () => host.copyPaste.active);
    const copy = await vmw9(['--json', 'snarf', '-'], 'through the agent');
    expect(copy.err).toBe('');
    expect(JSON.parse(copy.out)).toEqual({ copied: 17, via: 'agent' });
    // The guest never pushes: the host has it once it asks.
    expect((await host.copyPaste.request()).changed).toBe(true);
    expect(host.clipboard.text().toString()).toBe('through the agent');
    host.setHostClipboard('the host, via the agent');
    await waitFor('the push', () => host.copyPaste.stats.pushes > 0);
    let pasted: Run | undefined;
    await waitFor('the paste', async () => {
      pasted = await vmw9(['snarf']);
      return pasted.out === 'the host, via the agent';
    });
    expect(pasted).toEqual({ code: 0, out: 'the host, via the agent', err: '' });
    expect(await vmw9(['snarf', '--socket', sock])).toEqual({
      code: 0,
      out: 'the host, via the agent',
      err: '',
    });
  });

  it('200 KiB both ways, and a copy over the v4 limit fails naming it', async () => {
    const { host, addr, xdg, sock, vmw9 } = await hostAndRuntime();
    await agent(addr, xdg, sock);
    await waitFor('copy/paste v4 negotiated', () => host.copyPaste.active);
    const big = 'abcdefghij'.repeat(20 * 1024);
    expect((await vmw9(['snarf', '-'], big)).code).toBe(0);
    await host.copyPaste.request();
    expect(host.clipboard.text().toString()).toBe(big);
    const back = big.toUpperCase();
    host.setHostClipboard(back);
    let pasted = '';
    await waitFor('the paste', async () => {
      pasted = (await vmw9(['snarf'])).out;
      return pasted === back;
    });
    // The tree's error, at the commit, is the command's; nothing reaches the host.
    const over = await vmw9(['snarf', '-'], 'a'.repeat(4_194_190));
    expect(over.code).toBe(1);
    expect(over.err).toBe('vmw9: snarf: snarf buffer too long: copy/paste v4 takes at most 4194189 bytes\n');
    expect((await host.copyPaste.request()).changed).toBe(false);
  });

  it('an agent whose host has no v4: the legacy clipboard through the agent', async () => {
    const { host, addr, xdg, sock, vmw9 } = await hostAndRuntime({ options: [['copypaste', '0']] });
    await agent(addr, xdg, sock);
    await waitFor('the handshake', () =>
      host.tclo.replies.some((r) => r.command === 'Set_Option copypaste 0' && r.app === 'toolbox-dnd'),
    );
    expect(await vmw9(['snarf', '-'], 'legacy via the agent')).toMatchObject({ code: 0, err: '' });
    expect(host.clipboard.text().toString()).toBe('legacy via the agent');
    const big = await vmw9(['snarf', '-'], 'a'.repeat(MAX_CLIPBOARD_SEND + 1));
    expect(big.err).toBe(
      `vmw9: snarf: snarf buffer too long: the host's legacy clipboard takes at most ${MAX_CLIPBOARD_SEND} bytes\n`,
    );
  });
});

/** Waits until `check` holds (polling), or fails naming `what`; generous, only a hang reaches it. */
async function waitFor(what: string, check: () => unknown, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
