/** The console of `vmw9 sim`: each command changes or shows the host, bad lines get `error: …`. */
import { describe, expect, it } from 'vitest';
import { runConsoleCommand, SimBackdoorPort, VmxHost } from '../src/index.js';
import { open, receive, rpc, send, TCLO } from './guest-msg.js';

describe('console', () => {
  it('guestinfo: set, get, list, rm — and the guest sees it', async () => {
    const host = new VmxHost();
    const c = (l: string) => runConsoleCommand(host, l);
    expect(c('info set guestinfo.k hello  world')).toBe('guestinfo.k set');
    expect(await rpc(new SimBackdoorPort(host), 'info-get guestinfo.k')).toBe('1 hello  world');
    expect(c('info get guestinfo.k')).toBe('hello  world');
    expect(c('info')).toBe('guestinfo.k=hello  world');
    expect(c('info rm guestinfo.k')).toBe('guestinfo.k removed');
    expect(c('info get guestinfo.k')).toMatch(/^error: /);
  });

  it('tclo, replies and pending', async () => {
    const host = new VmxHost({ autoHandshake: false });
    const c = (l: string) => runConsoleCommand(host, l);
    expect(c('tclo OS_Halt')).toBe('queued: OS_Halt');
    expect(c('pending')).toBe('OS_Halt');
    const port = new SimBackdoorPort(host);
    const ch = await open(port, TCLO);
    await send(port, ch, Buffer.alloc(0));
    expect((await receive(port, ch))?.toString()).toBe('OS_Halt');
    await send(port, ch, Buffer.from('OK '));
    expect(c('replies')).toBe('OS_Halt -> "OK "');
  });

  it('clipboard, facts, faults, mouse, reset, state, log, counts', async () => {
    const host = new VmxHost();
    const c = (l: string) => runConsoleCommand(host, l);
    expect(c('clip set copied text')).toBe(
      'host clipboard: 11 bytes; pushed when a guest negotiates copy/paste version 4',
    );
    expect(c('clip').split('\n')[0]).toBe('text 12 bytes "copied text"');
    expect(c('fact productType 4')).toBe('productType 4');
    expect(host.facts.productType).toBe(4);
    expect(c('fact productType x')).toMatch(/^error: productType must be an integer/);
    expect(c('fact nosuch 1')).toMatch(/^error: unknown fact/);
    expect(c('fault cpt hbout rpci skip 1')).toBe('armed: cpt at HBOUT on RPCI after 1');
    expect(host.faults.armed).toHaveLength(1);
    expect(c('fault cpt nowhere')).toMatch(/^error: unknown step/);
    expect(c('fault restrict on')).toBe('restrict on');
    expect(host.faults.restricted).toBe(true);
    expect(c('fault clear')).toBe('faults cleared');
    expect(c('mouse 10 20 left')).toMatch(/not queued/);
    await rpc(new SimBackdoorPort(host), 'log from the guest');
    expect(c('state')).toMatch(/channels 0\/128/);
    expect(c('counts')).toMatch(/MESSAGE\.OPEN 1/);
    expect(c('log 1')).toMatch(/MESSAGE\.CLOSE/);
    expect(c('reset')).toMatch(/all channels closed/);
    expect(c('frobnicate')).toMatch(/^error: unknown command/);
    expect(c('')).toBe('');
  });
});
