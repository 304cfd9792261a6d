/** vmx.set_option: the host's synctime option as toolbox-cmd's timesync enable/disable change it. */
import { describe, expect, it } from 'vitest';
import { VmxHost } from '../src/index.js';
import { GUI_SYNC_TIME } from '../src/tools-options.js';

const ask = (host: VmxHost, req: string) => host.rpci.handle(Buffer.from(`${req}\0`)).toString('latin1');

describe('vmx.set_option', () => {
  it('synctime OLD NEW sets the GETGUIOPTIONS bit and sends Set_Option to the tools', () => {
    const host = new VmxHost({ facts: { guiOptions: 0x10 } });
    expect(ask(host, 'vmx.set_option synctime 0 1')).toBe('1 ');
    expect(host.facts.guiOptions).toBe(0x10 | GUI_SYNC_TIME);
    expect(host.tclo.pending()).toContain('Set_Option synctime 1');
    expect(ask(host, 'vmx.set_option synctime 1 0')).toBe('1 ');
    expect(host.facts.guiOptions).toBe(0x10);
  });

  it('refuses an OLD value that is not the current one, and changes nothing', () => {
    const host = new VmxHost({ facts: { guiOptions: GUI_SYNC_TIME } });
    expect(ask(host, 'vmx.set_option synctime 0 1')).toMatch(/^0 /);
    expect(host.facts.guiOptions).toBe(GUI_SYNC_TIME);
    expect(host.tclo.pending()).not.toContain('Set_Option synctime 1');
  });

  it('refuses other options and malformed requests', () => {
    const host = new VmxHost();
    expect(ask(host, 'vmx.set_option enableDnD 0 1')).toMatch(/^0 /);
    expect(ask(host, 'vmx.set_option synctime 1')).toMatch(/^0 /);
    expect(ask(host, 'vmx.set_option synctime 2 1')).toMatch(/^0 /);
  });
});
