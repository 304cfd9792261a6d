/**
 * `vmw9 stat` against the simulator: toolbox-cmd's printed forms and exit statuses. The host's
 * guestlib answers are set per test on the simulator's RPCI (an ESX host, a Workstation host with
 * the Guest API off, an older V2-only host).
 */
import { encodeGuestLibV2, encodeGuestLibV3, type GuestLibStats } from '@vmw9/backdoor';
import type { VmxHost } from '@vmw9/vmx-sim';
import { describe, expect, it } from 'vitest';
import { useSimHost } from './sim-host.js';

/** Serves guestlib.info.get as an ESX host (V3 and V2) with these statistics. */
function esx(host: VmxHost, stats: GuestLibStats, sessionId = 0x1234abcdn): void {
  host.rpci.register('guestlib.info.get', (args) => {
    const v = args.toString('latin1').trim();
    if (v === '3') return Buffer.concat([Buffer.from('1 '), encodeGuestLibV3({ sessionId, stats })]);
    if (v === '2') return Buffer.concat([Buffer.from('1 '), encodeGuestLibV2({ sessionId, stats })]);
    return '0 Unknown version';
  });
}

/** A host that only knows V2: version 3 is refused. */
function v2Only(host: VmxHost, stats: GuestLibStats): void {
  host.rpci.register('guestlib.info.get', (args) =>
    args.toString('latin1').trim() === '2'
      ? Buffer.concat([Buffer.from('1 '), encodeGuestLibV2({ sessionId: 7n, stats })])
      : '0 2:unsupported',
  );
}

describe('vmw9 stat (guestlib)', () => {
  const sim = useSimHost();

  it("prints each getter in toolbox-cmd's form: N MB, N MHz, 0x session", async () => {
    esx(sim.host, {
      MEM_BALLOONED_MB: 321,
      MEM_SWAPPED_MB: 12,
      MEM_LIMIT_MB: 4096,
      MEM_RESERVATION_MB: 1024,
      CPU_RESERVATION_MHZ: 500,
      CPU_LIMIT_MHZ: 2600,
    });
    const want: Record<string, string> = {
      balloon: '321 MB',
      swap: '12 MB',
      memlimit: '4096 MB',
      memres: '1024 MB',
      cpures: '500 MHz',
      cpulimit: '2600 MHz',
      sessionid: '0x1234abcd',
    };
    for (const [what, text] of Object.entries(want))
      expect(await sim.vmw9(['stat', what]), what).toMatchObject({ code: 0, out: `${text}\n`, err: '' });
  });

  it('an invalid statistic is refused as libguestlib does (exit 75), never printed as 0', async () => {
    esx(sim.host, { MEM_LIMIT_MB: 4096 });
    const r = await sim.vmw9(['stat', 'balloon']);
    expect(r).toMatchObject({
      code: 75,
      out: '',
      err: 'Failed to get ballooned memory: This value is not available on this host\n',
    });
  });

  it('a Workstation host with the Guest API off: UpdateInfo failed, exit 75', async () => {
    sim.host.rpci.register('guestlib.info.get', () => '0 Unknown command');
    for (const what of ['balloon', 'sessionid', 'all']) {
      const r = await sim.vmw9(['stat', what]);
      expect(r, what).toMatchObject({
        code: 75,
        out: '',
        err: 'UpdateInfo failed: VMware Guest API is not enabled on the host\n',
      });
    }
    const j = await sim.vmw9(['--json', 'stat', 'memlimit']);
    expect(j.code).toBe(75);
    expect(JSON.parse(j.out)).toMatchObject({ code: 'not-enabled' });
  });

  it('a V2-only host: its statistics read, a later one is "not sent by this host"', async () => {
    v2Only(sim.host, { MEM_BALLOONED_MB: 9 });
    expect(await sim.vmw9(['stat', 'balloon'])).toMatchObject({ code: 0, out: '9 MB\n' });
    const r = await sim.vmw9(['stat', 'all']);
    expect(r.out).toMatch(/^MEM_TARGET_SIZE_MB\s+not sent by this host$/m);
    expect(r.out).toMatch(/^MEM_LIMIT_MB\s+not available$/m);
  });

  it('all: the session id then every statistic in id order, one per line; --json with nulls', async () => {
    esx(sim.host, { MEM_BALLOONED_MB: 77, HOST_MEM_PHYS_MB: 65536n, RESOURCE_POOL_PATH: '/pool/a' }, 0xfeedn);
    const r = await sim.vmw9(['stat', 'all']);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines).toHaveLength(39);
    expect(lines[0]).toMatch(/^SESSION_ID\s+0xfeed$/);
    expect(lines[1]).toMatch(/^CPU_RESERVATION_MHZ\s+not available$/);
    expect(r.out).toMatch(/^MEM_BALLOONED_MB\s+77$/m);
    expect(r.out).toMatch(/^HOST_MEM_PHYS_MB\s+65536$/m);
    expect(r.out).toMatch(/^RESOURCE_POOL_PATH\s+\/pool\/a$/m);
    expect(r.out).not.toMatch(/\s0$/m);
    const j = JSON.parse((await sim.vmw9(['--json', 'stat', 'all'])).out);
    expect(j).toMatchObject({ version: 3, sessionId: '0xfeed' });
    expect(j.stats).toMatchObject({ MEM_BALLOONED_MB: 77, HOST_MEM_PHYS_MB: 65536, MEM_LIMIT_MB: null });
    expect(Object.keys(j.stats)).toHaveLength(38);
  });

  it('raw sends guestlib.stat.get and prints the reply as it is; a refusal is exit 75', async () => {
    sim.host.rpci.register('guestlib.stat.get', (args) =>
      args.toString('latin1').startsWith('text session') ? '1 session: 0x42' : '0 No such stat',
    );
    expect(await sim.vmw9(['stat', 'raw', 'text', 'session'])).toMatchObject({
      code: 0,
      out: 'session: 0x42',
    });
    expect(await sim.vmw9(['stat', 'raw', 'text', 'vnet'])).toMatchObject({
      code: 75,
      err: 'Failed to get stat: This value is not available on this host\n',
    });
    expect((await sim.vmw9(['stat', 'raw', 'csv'])).code).toBe(2);
  });

  it('keeps the backdoor statistics: speed, memory, uuid, hosttime', async () => {
    sim.host.facts.cpuMhz = 2900;
    expect(await sim.vmw9(['stat', 'speed'])).toMatchObject({ code: 0, out: '2900 MHz\n' });
    expect((await sim.vmw9(['stat', 'memory'])).out).toMatch(/^\d+ MB\n$/);
    expect((await sim.vmw9(['stat', 'hosttime'])).out).toMatch(/^\d\d \w{3} \d{4} \d\d:\d\d:\d\d\n$/);
  });

  it('an unknown statistic or a stray argument is a usage error', async () => {
    expect((await sim.vmw9(['stat', 'ballon'])).code).toBe(2);
    expect((await sim.vmw9(['stat', 'balloon', 'x'])).code).toBe(2);
  });
});

describe("vmw9 stat against the simulator's VMGuestLib host", () => {
  const esxSim = useSimHost({
    guestlib: {
      stats: { MEM_BALLOONED_MB: 640, CPU_LIMIT_MHZ: 3100 },
      invalid: ['MEM_SWAPPED_MB'],
      sessionId: 0x5eedn,
    },
  });
  const workstation = useSimHost({ guestlib: { enabled: false } });

  it('reads what the host set, and an invalid statistic as libguestlib refuses it', async () => {
    expect(await esxSim.vmw9(['stat', 'balloon'])).toMatchObject({ code: 0, out: '640 MB\n' });
    expect(await esxSim.vmw9(['stat', 'cpulimit'])).toMatchObject({ code: 0, out: '3100 MHz\n' });
    expect(await esxSim.vmw9(['stat', 'sessionid'])).toMatchObject({ code: 0, out: '0x5eed\n' });
    expect(await esxSim.vmw9(['stat', 'swap'])).toMatchObject({
      code: 75,
      err: 'Failed to get swapped memory: This value is not available on this host\n',
    });
    esxSim.host.guestlib.set('MEM_BALLOONED_MB', 12);
    expect((await esxSim.vmw9(['stat', 'all'])).out).toMatch(/^MEM_BALLOONED_MB\s+12$/m);
  });

  it('the Guest API off (Workstation): UpdateInfo failed, exit 75', async () => {
    expect(await workstation.vmw9(['stat', 'memlimit'])).toMatchObject({
      code: 75,
      err: 'UpdateInfo failed: VMware Guest API is not enabled on the host\n',
    });
  });
});
