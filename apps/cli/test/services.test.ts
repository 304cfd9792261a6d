/** vmw9 mouse / stat / time / version / mount against a simulated host in this process (snarf: snarf.test.ts). */
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useSimHost } from './sim-host.js';

const sim = useSimHost({
  facts: {
    cpuMhz: 3100,
    memoryMB: 8192,
    biosUuid: '00112233-4455-6677-8899-aabbccddeeff',
    timeOffsetMs: -5000,
  },
});
const vmw9 = sim.vmw9;

describe('host services from the shell', () => {
  it('stat speed / memory / uuid / hosttime, like vmware-toolbox-cmd', async () => {
    expect((await vmw9(['stat', 'speed'])).out).toBe('3100 MHz\n');
    expect((await vmw9(['stat', 'memory'])).out).toBe('8192 MB\n');
    expect((await vmw9(['stat', 'uuid'])).out).toBe('00112233-4455-6677-8899-aabbccddeeff\n');
    expect((await vmw9(['stat', 'hosttime'])).out).toMatch(/^\d\d \w{3} \d{4} \d\d:\d\d:\d\d\n$/);
    expect((await vmw9(['stat', 'bogus'])).code).toBe(2);
  });

  it('time: the host 5 s behind shows the guest about 5 s ahead', async () => {
    const r = await vmw9(['--json', 'time']);
    const diff = JSON.parse(r.out).guestMinusHostMs;
    expect(diff).toBeGreaterThan(4000);
    expect(diff).toBeLessThan(6000);
  });

  it('mouse: prints the packets the host sends', async () => {
    const run = vmw9(['--json', 'mouse', '--count', '2', '--interval', '5']);
    const t0 = Date.now();
    while (sim.host.mouse.status !== 0 && Date.now() - t0 < 30_000)
      await new Promise((r) => setTimeout(r, 10));
    sim.host.mouse.event({ x: 100, y: 200, left: true });
    sim.host.mouse.event({ x: 300, y: 400, wheel: -1 });
    const r = await run;
    expect(r.code).toBe(0);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toMatchObject([
      { x: 100, y: 200, left: true },
      { x: 300, y: 400, wheel: -1 },
    ]);
  });

  it('--version lists vmw9 and every layer with its version (and as JSON)', async () => {
    const r = await vmw9(['--version']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^vmw9 \d+\.\d+\.\d+ \(node v\d+/);
    const layers = [
      '@vmw9/backdoor',
      '@vmw9/backdoor-native',
      '@vmw9/msgchan',
      '@vmw9/rpc',
      '@vmw9/hgfs',
      '@vmw9/dndcp',
      'ninep',
    ];
    for (const layer of [...layers, '@vmw9/fs', '@vmw9/vmx-sim', '@vmw9/agent'])
      expect(r.out).toMatch(new RegExp(`^  ${layer} \\d+\\.\\d+\\.\\d+$`, 'm'));
    const j = JSON.parse((await vmw9(['--json', '--version'])).out);
    expect(Object.keys(j.layers)).toHaveLength(10);
    expect(j.layers['@vmw9/backdoor-native']).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('version', async () => {
    expect((await vmw9(['version'])).out).toMatch(/^vmw9 \d+\.\d+\.\d+ \(node v\d+/);
  });

  it('mount: a clear error without a socket; --dry-run shows the 9P mount', async () => {
    const none = await vmw9(['mount', '--socket', '/nonexistent.sock']);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/not a socket: start the agent first/);
    const dir = mkdtempSync(join(tmpdir(), 'vmw9-mnt-'));
    const sock = join(dir, 's.sock');
    const srv = createServer().listen(sock);
    await new Promise((r) => srv.once('listening', r));
    const dry = await vmw9(['mount', '--socket', sock, '--dir', join(dir, 'mnt'), '--dry-run']);
    srv.close();
    expect(dry.out).toBe(
      `mount -t 9p -o trans=unix,version=9p2000.L,access=any,cache=none,msize=262144 ${sock} ${join(dir, 'mnt')}\n`,
    );
  });

  it('mount: --socket also takes the unix!PATH the agent prints, and refuses other networks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmw9-mnt-'));
    const sock = join(dir, 's!.sock');
    const srv = createServer().listen(sock);
    await new Promise((r) => srv.once('listening', r));
    const dry = await vmw9(['mount', '--socket', `unix!${sock}`, '--dir', join(dir, 'mnt'), '--dry-run']);
    const plain = await vmw9(['mount', '--socket', sock, '--dir', join(dir, 'mnt'), '--dry-run']);
    const json = await vmw9(['--json', 'mount', '--socket', sock, '--dir', join(dir, 'mnt'), '--dry-run']);
    srv.close();
    expect(dry.out).toContain(` ${sock} `);
    expect(plain.out).toBe(dry.out);
    expect(JSON.parse(json.out)).toMatchObject({ socket: sock, dir: join(dir, 'mnt') });
    expect(JSON.parse(json.out).command.join(' ')).toBe(dry.out.trim());
    const tcp = await vmw9(['mount', '--socket', 'tcp!127.0.0.1!564', '--dry-run']);
    expect(tcp.code).toBe(2);
    expect(tcp.err).toMatch(/--socket must be a Unix socket/);
  });
});
