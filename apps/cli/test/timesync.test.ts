/** `vmw9 timesync` against the simulator: toolbox-cmd's words, exit statuses and RPCIs. */
import { describe, expect, it } from 'vitest';
import { useSimHost } from './sim-host.js';

const SYNC_TIME = 0x400;

describe('vmw9 timesync', () => {
  const sim = useSimHost();

  it('status reads the GETGUIOPTIONS bit: Enabled exits 0, Disabled exits 69', async () => {
    sim.host.facts.guiOptions |= SYNC_TIME;
    expect(await sim.vmw9(['timesync', 'status'])).toMatchObject({ code: 0, out: 'Enabled\n' });
    sim.host.facts.guiOptions &= ~SYNC_TIME;
    expect(await sim.vmw9(['timesync', 'status'])).toMatchObject({ code: 69, out: 'Disabled\n' });
  });

  it('enable sends vmx.set_option synctime 0 1, the host turns the bit on and tells the tools', async () => {
    sim.host.facts.guiOptions &= ~SYNC_TIME;
    const before = sim.host.rpci.history.length;
    expect(await sim.vmw9(['timesync', 'enable'])).toMatchObject({ code: 0, out: 'Enabled\n' });
    const sent = sim.host.rpci.history.slice(before).map((r) => r.request.toString('latin1'));
    expect(sent).toContain('vmx.set_option synctime 0 1');
    expect(sim.host.facts.guiOptions & SYNC_TIME).toBe(SYNC_TIME);
    expect(sim.host.tclo.pending()).toContain('Set_Option synctime 1');
    expect(await sim.vmw9(['--json', 'timesync', 'status'])).toMatchObject({ code: 0 });
  });

  it('disable when already disabled asks the host nothing', async () => {
    sim.host.facts.guiOptions &= ~SYNC_TIME;
    const before = sim.host.rpci.history.length;
    expect(await sim.vmw9(['timesync', 'disable'])).toMatchObject({ code: 0, out: 'Disabled\n' });
    expect(sim.host.rpci.history.slice(before).map((r) => r.command)).not.toContain('vmx.set_option');
  });

  it("a host refusal is toolbox-cmd's Error: line and exit 1", async () => {
    sim.host.facts.guiOptions |= SYNC_TIME;
    sim.host.rpci.register('vmx.set_option', () => '0 Permission denied');
    const r = await sim.vmw9(['timesync', 'disable']);
    expect(r).toMatchObject({ code: 1, err: 'Error: Permission denied\n' });
  });

  it('an unknown subcommand is a usage error', async () => {
    expect((await sim.vmw9(['timesync', 'sometimes'])).code).toBe(2);
  });
});
