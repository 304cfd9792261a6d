/**
 * The agent end to end against vmx-sim in-process: the host drives it over TCLO as VMware does,
 * and a 9P client reads the tree it serves.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EMBEDDED_SIM, guestInfoService } from '../src/index.js';
import {
  cleanup,
  handshake,
  markerScript,
  readEventUntil,
  readOnce,
  startOnSim,
  tempDir,
  waitFor,
} from './helpers.js';

afterEach(cleanup);

const statusOf = (
  host: { rpci: { stateChanges: Array<{ success: boolean; state: number }> } },
  state: number,
) => host.rpci.stateChanges.find((s) => s.state === state);

describe('start', () => {
  it('registers with the host as open-vm-tools does, and says it runs on the simulator', async () => {
    const s = await startOnSim();
    await handshake(s.host);
    const r = s.host.tclo.replies;
    expect(r[0]).toMatchObject({ command: 'reset', reply: 'OK ATR toolbox' });
    expect(r.find((x) => x.command === 'ping')?.reply).toBe('OK ');
    expect(r.find((x) => x.command === 'Capabilities_Register')?.reply).toBe('OK ');
    await waitFor('unified_loop', () => s.host.rpci.unifiedLoop.has('toolbox'));
    expect(s.host.rpci.capabilities.get('statechange')).toBe('');
    expect(s.host.rpci.capabilities.get('softpowerop_retry')).toBe('');
    expect(s.host.rpci.toolsVersion).toEqual({ version: 12448, type: 4 });
    expect(s.host.rpci.getGuestinfo('guestinfo.vmtools.versionString')).toBe('12.5.0');
    expect(s.host.rpci.getGuestinfo('guestinfo.vmtools.versionNumber')).toBe('12448');
    expect(s.logs.join('')).toContain('running on the embedded simulated host, not a real VMware host');
    const c = await s.client();
    const version = (await c.readFile('version')).toString();
    expect(version).toContain(`transport ${EMBEDDED_SIM}`);
    expect(version).toMatch(/^agent vmw9-agent 0\.1\.0$/m);
  });

  it('remembers the options the host sets and refuses unknown ones', async () => {
    const s = await startOnSim({
      hostOptions: {
        options: [
          ['copypaste', '1'],
          ['broadcastIP', '1'],
        ],
      },
    });
    await waitFor('options', () => s.agent.options.get('broadcastIP') === '1');
    expect(s.agent.options.get('copypaste')).toBe('1');
    s.host.tclo.queueCommand('Set_Option noSuchOption 1', 'toolbox');
    expect((await s.host.tclo.waitForReply('Set_Option noSuchOption 1')).reply).toBe(
      'ERROR Unknown or invalid option',
    );
    // broadcastIP 1: the primary address goes to guestinfo.ip (when this machine has one to report).
    if (s.agent.service(guestInfoService).reporter.last?.nics.length)
      await waitFor('guestinfo.ip', () => s.host.rpci.getGuestinfo('guestinfo.ip'));
  });
});

describe('power operations', () => {
  it('OS_Halt runs the script, reports success, and does not run the system command when told not to', async () => {
    const dir = tempDir();
    const marker = join(dir, 'marker');
    const script = markerScript(dir, 'halt.sh', marker);
    const s = await startOnSim({
      dir,
      config: `[powerops]\npoweroff-script = ${script}\nshutdown-command = touch ${dir}/shutdown-ran\nsystem-actions = false\n`,
    });
    await handshake(s.host);
    const c = await s.client();
    const events = readEventUntil(c, 'events', /power halt done/, () =>
      s.host.tclo.queueCommand('OS_Halt', 'toolbox'),
    );
    expect((await s.host.tclo.waitForReply('OS_Halt')).reply).toBe('OK ');
    await waitFor('the halt status', () => statusOf(s.host, 1));
    expect(statusOf(s.host, 1)).toEqual({ success: true, state: 1 });
    expect(readFileSync(marker, 'utf8')).toBe('ran halt\n');
    expect(existsSync(join(dir, 'shutdown-ran'))).toBe(false);
    expect(await events).toMatch(/^power halt$/m);
    expect(await readOnce(c, 'power')).toBe('halt\n');
  });

  it('runs the system command after the script when system actions are on, and reports its failure', async () => {
    const dir = tempDir();
    const s = await startOnSim({
      dir,
      config: `[powerops]\nshutdown-command = touch ${dir}/shutdown-ran\nreboot-command = exit 3\n`,
    });
    await handshake(s.host);
    s.host.tclo.queueCommand('OS_Halt', 'toolbox');
    await waitFor('the halt status', () => statusOf(s.host, 1));
    expect(statusOf(s.host, 1)).toEqual({ success: true, state: 1 });
    expect(existsSync(join(dir, 'shutdown-ran'))).toBe(true);
    s.host.tclo.queueCommand('OS_Reboot', 'toolbox');
    await waitFor('the reboot status', () => statusOf(s.host, 2));
    expect(statusOf(s.host, 2)).toEqual({ success: false, state: 2 });
  });

  it('a failing or slow script is reported as a failure; a second request while one runs is refused', async () => {
    const dir = tempDir();
    const fail = markerScript(dir, 'suspend.sh', join(dir, 'm'), 1);
    const slow = join(dir, 'slow.sh');
    (await import('node:fs')).writeFileSync(slow, '#!/bin/sh\nsleep 5\n', { mode: 0o755 });
    const s = await startOnSim({
      dir,
      config: `[powerops]\nsuspend-script = ${fail}\nresume-script = ${slow}\nscript-timeout = 300ms\nsystem-actions = false\n`,
    });
    await handshake(s.host);
    s.host.tclo.queueCommand('OS_Suspend', 'toolbox');
    await waitFor('the suspend status', () => statusOf(s.host, 5));
    expect(statusOf(s.host, 5)?.success).toBe(false);
    s.host.tclo.queueCommand('OS_Resume', 'toolbox');
    s.host.tclo.queueCommand('OS_PowerOn', 'toolbox');
    expect((await s.host.tclo.waitForReply('OS_PowerOn')).reply).toBe(
      'ERROR State change already in progress',
    );
    await waitFor('the resume status', () => statusOf(s.host, 4));
    expect(statusOf(s.host, 4)?.success).toBe(false);
  });
});

describe('the tree', () => {
  it('shows guestinfo the host sets, and writes reach the host', async () => {
    const s = await startOnSim();
    s.host.rpci.setGuestinfo('guestinfo.fromhost', 'hello from the host');
    const c = await s.client();
    expect((await c.readFile('guestinfo/fromhost')).toString()).toBe('hello from the host');
    await c.writeFile('guestinfo/fromguest', Buffer.from('written through 9P\n'));
    await waitFor('the guest value', () => s.host.rpci.getGuestinfo('guestinfo.fromguest'));
    expect(s.host.rpci.getGuestinfo('guestinfo.fromguest')).toBe('written through 9P');
  });

  it('Resolution_Set appears in events and wctl', async () => {
    const s = await startOnSim();
    await handshake(s.host);
    const c = await s.client();
    const seen = await readEventUntil(c, 'events', /resolution 1024 768/, () =>
      s.host.tclo.queueCommand('Resolution_Set 1024 768', 'toolbox'),
    );
    expect(seen).toMatch(/^resolution 1024 768$/m);
    await waitFor('the reply', () =>
      s.host.tclo.replies.some((r) => r.command === 'Resolution_Set 1024 768'),
    );
    expect(s.host.tclo.replies.find((r) => r.command === 'Resolution_Set 1024 768')?.reply).toBe('OK ');
    expect(await readOnce(c, 'wctl')).toMatch(/1024.*768/);
    s.host.tclo.queueCommand('Resolution_Set wide tall', 'toolbox');
    expect((await s.host.tclo.waitForReply('Resolution_Set wide tall')).reply).toBe(
      'ERROR Invalid arguments',
    );
  });

  it('stats counts the TCLO commands the agent answered', async () => {
    const s = await startOnSim();
    await handshake(s.host);
    const c = await s.client();
    const read = async () =>
      Number(
        Buffer.from(await c.readFile('/stats'))
          .toString()
          .trim()
          .split(/\s+/)[4],
      );
    const first = await read();
    // reset, ping and Capabilities_Register at least, by the time the handshake is answered.
    expect(first).toBeGreaterThanOrEqual(3);
    s.host.tclo.queueCommand('Resolution_Set 800 600', 'toolbox');
    await waitFor('the command counted', async () => (await read()) > first);
  });

  it('a host command no service answers is refused and announced in events as one line', async () => {
    const s = await startOnSim();
    await handshake(s.host);
    const c = await s.client();
    const seen = await readEventUntil(c, 'events', /^tclo Frobnicate/m, () =>
      s.host.tclo.queueCommand(Buffer.from('Frobnicate a\nb\x01'), 'toolbox'),
    );
    expect(seen).toMatch(/^tclo Frobnicate a\\nb\\x01$/m);
    const reply = await waitFor('the reply', () =>
      s.host.tclo.replies.find((r) => r.command === 'Frobnicate a\nb\x01'),
    );
    expect(reply.reply).toBe('ERROR Unknown Command');
  });
});

describe('recovery', () => {
  it('a host reset mid-session: the agent re-registers with its state intact', async () => {
    const s = await startOnSim({
      hostOptions: {
        options: [
          ['synctime', '0'],
          ['copypaste', '1'],
        ],
      },
    });
    await waitFor('options', () => s.agent.options.get('copypaste') === '1');
    const c = await s.client();
    await c.writeFile('guestinfo/kept', Buffer.from('before the reset'));
    // The system channel's (the desktop channel, toolbox-dnd, registers too: the copypaste service's).
    const loops = () =>
      s.host.rpci.history.filter((h) =>
        /^vmx\.capability\.unified_loop toolbox\0?$/.test(h.request.toString('latin1')),
      ).length;
    const names = () =>
      s.host.rpci.history.filter((h) => h.request.toString('latin1').startsWith('SetGuestInfo  1 ')).length;
    await waitFor('first registration', () => loops() === 1 && names() === 1);
    const opens = s.agent.rpc.opens;

    s.host.reset();
    const resets = () => s.host.tclo.replies.filter((r) => r.command === 'reset' && r.app === 'toolbox');
    await waitFor('the second reset reply', () => resets().length === 2);
    expect(resets().map((r) => r.reply)).toEqual(['OK ATR toolbox', 'OK ATR toolbox']);
    await waitFor('unified_loop again', () => loops() === 2);
    // The cache was cleared: guest info went again.
    await waitFor('guest info resent', () => names() === 2);
    expect(s.agent.resets).toBe(2);
    expect(s.agent.rpc.opens).toBeGreaterThan(opens);
    expect(s.agent.options.get('copypaste')).toBe('1');
    // The same 9P connection still works and the value written before is there.
    expect((await c.readFile('guestinfo/kept')).toString()).toBe('before the reset');
    await c.writeFile('guestinfo/after', Buffer.from('after the reset'));
    await waitFor('the value after', () => s.host.rpci.getGuestinfo('guestinfo.after') === 'after the reset');
  });

  it('survives a checkpoint in the middle of an RPCI message', async () => {
    const s = await startOnSim();
    await handshake(s.host);
    s.host.arm({ kind: 'cpt', step: 'SENDSIZE', protocol: 'RPCI' });
    const c = await s.client();
    await c.writeFile('guestinfo/cpt', Buffer.from('through a checkpoint'));
    await waitFor('the value', () => s.host.rpci.getGuestinfo('guestinfo.cpt') === 'through a checkpoint');
  });
});

describe('stop', () => {
  it('ends cleanly while a 9P client holds a file open: the socket is gone and the client sees it close', async () => {
    const s = await startOnSim();
    const c = await s.client();
    const fid = await c.walk('events');
    await c.open(fid, 'r');
    // The client sees its connection end: a clean close or a reset, depending on timing. The
    // expectation is attached before the stop: the read may fail while the stop is still running.
    const ended = expect(c.read(fid, 0, 8192)).rejects.toThrow(/connection closed|ECONNRESET|EPIPE/);
    // The stop does not wait for the client to let go: a stop that did would hang to the test's
    // limit, so the bound below is generous on purpose (a busy machine is slow, never this slow).
    const t0 = Date.now();
    await s.agent.stop();
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(existsSync(s.fsPath)).toBe(false);
    await ended;
    expect(s.logs.join('')).toContain('"msg":"stopped"');
    const polls = s.host.tclo.polls;
    await new Promise((r) => setTimeout(r, 100));
    expect(s.host.tclo.polls).toBe(polls);
  });
});
