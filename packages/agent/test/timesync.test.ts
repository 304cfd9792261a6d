/** Time_Synchronize and periodic sync against vmx-sim's clock, through an injected setClock. */
import { afterEach, describe, expect, it } from 'vitest';
import { timeSyncService } from '../src/index.js';
import { cleanup, handshake, startOnSim, waitFor } from './helpers.js';

afterEach(cleanup);

const sync = async (s: Awaited<ReturnType<typeof startOnSim>>, arg: '0' | '1') => {
  s.host.tclo.queueCommand(`Time_Synchronize ${arg}`, 'toolbox');
  return (await s.host.tclo.waitForReply(`Time_Synchronize ${arg}`)).reply;
};

describe('Time_Synchronize', () => {
  it('steps the clock forward when the host is ahead', async () => {
    const s = await startOnSim();
    await handshake(s.host);
    s.host.facts.timeOffsetMs = 60_000;
    expect(await sync(s, '0')).toBe('OK ');
    expect(s.clock).toHaveLength(1);
    expect(Math.abs(s.clock[0]! - (Date.now() + 60_000))).toBeLessThan(1000);
    expect(s.agent.service(timeSyncService).clock.last).toMatchObject({ action: 'stepped' });
  });

  it('never steps backwards by default, even when the host allows it', async () => {
    const s = await startOnSim();
    await handshake(s.host);
    s.host.facts.timeOffsetMs = -60_000;
    expect(await sync(s, '1')).toBe('OK ');
    expect(s.clock).toEqual([]);
    expect(s.agent.service(timeSyncService).clock.last).toMatchObject({ action: 'refused' });
  });

  it('steps backwards when allow-backward is configured', async () => {
    const s = await startOnSim({
      config: '[powerops]\nsystem-actions = false\n[timesync]\nallow-backward = true\n',
    });
    await handshake(s.host);
    s.host.facts.timeOffsetMs = -60_000;
    expect(await sync(s, '0')).toBe('OK ');
    expect(s.clock).toHaveLength(1);
    expect(Math.abs(s.clock[0]! - (Date.now() - 60_000))).toBeLessThan(1000);
  });

  it('leaves a clock within the threshold alone', async () => {
    const s = await startOnSim();
    await handshake(s.host);
    s.host.facts.timeOffsetMs = 200;
    await sync(s, '0');
    expect(s.clock).toEqual([]);
    expect(s.agent.service(timeSyncService).clock.last).toMatchObject({ action: 'none' });
  });

  it('does nothing while an NTP daemon keeps the clock, unless ignore-ntp', async () => {
    const s = await startOnSim({ agent: { ntpActive: async () => 'chronyd' } });
    await handshake(s.host);
    s.host.facts.timeOffsetMs = 60_000;
    expect(await sync(s, '0')).toBe('OK ');
    expect(s.clock).toEqual([]);
    expect(s.agent.service(timeSyncService).clock.last?.reason).toMatch(/chronyd/);

    const t = await startOnSim({
      config: '[powerops]\nsystem-actions = false\n[timesync]\nignore-ntp = true\n',
      agent: { ntpActive: async () => 'chronyd' },
    });
    await handshake(t.host);
    t.host.facts.timeOffsetMs = 60_000;
    await sync(t, '0');
    expect(t.clock).toHaveLength(1);
  });

  it('rejects bad arguments with vmtoolsd’s text', async () => {
    const s = await startOnSim();
    await handshake(s.host);
    s.host.tclo.queueCommand('Time_Synchronize maybe', 'toolbox');
    expect((await s.host.tclo.waitForReply('Time_Synchronize maybe')).reply).toBe(
      'ERROR Unable to tokenize TimeSync RPC data',
    );
  });
});

describe('periodic sync', () => {
  it('runs every synctime.period once the host turns synctime on, and stops with the agent', async () => {
    const s = await startOnSim({
      hostOptions: {
        options: [
          ['synctime.period', '1'],
          ['synctime', '1'],
        ],
      },
    });
    s.host.facts.timeOffsetMs = 30_000;
    await waitFor('a periodic step', () => s.clock.length >= 1);
    expect(s.agent.service(timeSyncService).clock.periodic).toEqual({ enabled: true, periodMs: 1000 });
    await s.agent.stop();
    const n = s.clock.length;
    await new Promise((r) => setTimeout(r, 1300));
    expect(s.clock.length).toBe(n);
  });
});

describe("the host's synctime option changed by the guest (vmw9 timesync, vmware-toolbox-cmd timesync)", () => {
  it('vmx.set_option synctime reaches the agent as Set_Option: its periodic sync follows', async () => {
    const s = await startOnSim();
    await handshake(s.host);
    const clock = s.agent.service(timeSyncService).clock;
    const setOption = (req: string) => s.host.rpci.handle(Buffer.from(req)).toString('latin1');
    s.host.facts.guiOptions &= ~0x400;
    expect(setOption('vmx.set_option synctime 0 1')).toBe('1 ');
    await waitFor('periodic sync on', () => clock.periodic.enabled);
    expect(setOption('vmx.set_option synctime 1 0')).toBe('1 ');
    await waitFor('periodic sync off', () => !clock.periodic.enabled);
  });
});
