/** TCLO as vmtoolsd sees it: poll with an empty send, receive a command, reply on the next send. */
import { describe, expect, it } from 'vitest';
import { SimBackdoorPort, VmxHost } from '../src/index.js';
import { open, receive, send, TCLO } from './guest-msg.js';

async function poll(
  port: SimBackdoorPort,
  ch: Awaited<ReturnType<typeof open>>,
  reply: string,
): Promise<string | null> {
  await send(port, ch, Buffer.from(reply));
  return (await receive(port, ch))?.toString() ?? null;
}

describe('TCLO', () => {
  it('handshake: reset first, then ping, Capabilities_Register, copy/paste and DnD on, the options; replies recorded', async () => {
    const host = new VmxHost({
      options: [
        ['synctime', '1'],
        ['broadcastIP', '1'],
      ],
    });
    const port = new SimBackdoorPort(host);
    const ch = await open(port, TCLO);
    expect(await poll(port, ch, '')).toBe('reset');
    expect(await poll(port, ch, 'OK ATR toolbox')).toBe('ping');
    expect(await poll(port, ch, 'OK ')).toBe('Capabilities_Register');
    // A real host enables copy/paste and drag-and-drop at registration (docs/protocol/dndcp.md §1).
    expect(await poll(port, ch, 'OK ')).toBe('Set_Option copypaste 1');
    expect(await poll(port, ch, 'OK ')).toBe('Set_Option enableDnD 1');
    expect(await poll(port, ch, 'OK ')).toBe('Set_Option synctime 1');
    expect(await poll(port, ch, 'OK ')).toBe('Set_Option broadcastIP 1');
    expect(await poll(port, ch, 'ERROR Unknown or invalid option')).toBeNull();
    expect(host.tclo.replies.map((r) => [r.command, r.reply, r.app])).toEqual([
      ['reset', 'OK ATR toolbox', 'toolbox'],
      ['ping', 'OK ', 'toolbox'],
      ['Capabilities_Register', 'OK ', 'toolbox'],
      ['Set_Option copypaste 1', 'OK ', 'toolbox'],
      ['Set_Option enableDnD 1', 'OK ', 'toolbox'],
      ['Set_Option synctime 1', 'OK ', 'toolbox'],
      ['Set_Option broadcastIP 1', 'ERROR Unknown or invalid option', 'toolbox'],
    ]);
    expect(host.tclo.channels.get(ch.id)?.polls).toBe(1);
  });

  it('one command outstanding at a time; queued commands wait for the reply', async () => {
    const host = new VmxHost({ autoHandshake: false });
    const port = new SimBackdoorPort(host);
    host.tclo.queueCommand('OS_Halt');
    host.tclo.queueCommand('ping');
    const ch = await open(port, TCLO);
    await send(port, ch, Buffer.alloc(0));
    expect((await receive(port, ch))?.toString()).toBe('OS_Halt');
    // Without a reply in between, the guest is offered nothing more.
    expect(await receive(port, ch)).toBeNull();
    expect(await poll(port, ch, 'OK ')).toBe('ping');
    expect(host.tclo.replies.map((r) => r.command)).toEqual(['OS_Halt']);
  });

  it('a command addressed to an app goes only to that app’s channel', async () => {
    const host = new VmxHost();
    const port = new SimBackdoorPort(host);
    const svc = await open(port, TCLO);
    const usr = await open(port, TCLO);
    expect(await poll(port, svc, '')).toBe('reset');
    expect(await poll(port, usr, '')).toBe('reset');
    expect(await poll(port, usr, 'OK ATR toolbox-dnd')).toBe('ping');
    host.tclo.queueCommand('Resolution_Set 1024 768', 'toolbox-dnd');
    expect(await poll(port, svc, 'OK ATR toolbox')).toBe('ping');
    for (const c of ['Capabilities_Register', 'Set_Option copypaste 1', 'Set_Option enableDnD 1'])
      expect(await poll(port, svc, 'OK ')).toBe(c);
    expect(await poll(port, svc, 'OK ')).toBeNull();
    for (const c of ['Capabilities_Register', 'Set_Option copypaste 1', 'Set_Option enableDnD 1'])
      expect(await poll(port, usr, 'OK ')).toBe(c);
    expect(await poll(port, usr, 'OK ')).toBe('Resolution_Set 1024 768');
  });

  it('a command for no app goes to the system service’s channel once one is open, to any before', async () => {
    const host = new VmxHost({ autoHandshake: false });
    const port = new SimBackdoorPort(host);
    const usr = await open(port, TCLO);
    const svc = await open(port, TCLO);
    // No channel has said which app it is: the first to poll takes it.
    host.tclo.queueCommand('reset');
    expect(await poll(port, usr, '')).toBe('reset');
    host.tclo.queueCommand('reset');
    expect(await poll(port, svc, '')).toBe('reset');
    await send(port, svc, Buffer.from('OK ATR toolbox'));
    // The user session's channel polls first, but OS_Halt is the system service's.
    host.tclo.queueCommand('OS_Halt');
    expect(await poll(port, usr, 'OK ATR toolbox-dnd')).toBeNull();
    expect((await receive(port, svc))?.toString()).toBe('OS_Halt');
  });

  it('a checkpoint while receiving a command delivers it again, once', async () => {
    const host = new VmxHost({ autoHandshake: false });
    const port = new SimBackdoorPort(host);
    host.tclo.queueCommand('Time_Synchronize 0');
    host.arm({ kind: 'cpt', step: 'RECVSTATUS', protocol: 'TCLO' });
    const ch = await open(port, TCLO);
    await send(port, ch, Buffer.alloc(0));
    const counter = { cpt: 0 };
    expect((await receive(port, ch, { counter }))?.toString()).toBe('Time_Synchronize 0');
    expect(counter.cpt).toBe(1);
    expect(await poll(port, ch, 'OK ')).toBeNull();
    expect(host.tclo.replies).toHaveLength(1);
  });

  it('a new TCLO channel after a host reset is sent reset again', async () => {
    const host = new VmxHost();
    const port = new SimBackdoorPort(host);
    const a = await open(port, TCLO);
    expect(await poll(port, a, '')).toBe('reset');
    host.reset();
    const b = await open(port, TCLO);
    expect(await poll(port, b, '')).toBe('reset');
  });

  it('waitForReply resolves with the guest’s answer', async () => {
    const host = new VmxHost({ autoHandshake: false });
    const port = new SimBackdoorPort(host);
    const ch = await open(port, TCLO);
    host.tclo.queueCommand('OS_Reboot');
    const waiting = host.tclo.waitForReply('OS_Reboot', 30_000);
    await send(port, ch, Buffer.alloc(0));
    await receive(port, ch);
    await send(port, ch, Buffer.from('OK '));
    expect((await waiting).reply).toBe('OK ');
  });
});
