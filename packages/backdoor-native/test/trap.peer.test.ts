/**
 * Our addon under vmx-trap against vmx-sim: the real `in`, `rep outsb` and `rep insb` of
 * native/backdoor_x86_64.S, trapped by the launcher and answered by the simulator. This is the
 * only place the HB instructions run for real on these machines (QEMU has no HB port). The guest
 * side is our own stack: @vmw9/msgchan over NativeBackdoorPort.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SimServer, serveHost, VmxHost } from '@vmw9/vmx-sim';
import { afterAll, describe, expect, it } from 'vitest';

const trap = fileURLToPath(new URL('../../vmx-sim-linux-x64/vmx-trap', import.meta.url));
const script = fileURLToPath(new URL('./guest/native-rpc.mjs', import.meta.url));
let server: SimServer | undefined;
afterAll(() => server?.close());

/** Runs guest/native-rpc.mjs (one RPC over our addon) under vmx-trap against the host at `path`. */
function rpcUnderTrap(
  path: string,
  cpuid: 'vmware' | 'pass',
  rpc: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const args = ['--host', `unix!${path}`, '--cpuid', cpuid, '-q', '--', process.execPath, script, rpc];
  return new Promise((resolve) => {
    const c = spawn(trap, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => c.kill('SIGKILL'), 120_000);
    c.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('@vmw9/backdoor-native under vmx-trap', () => {
  it('detects the (faked) VMware CPUID, then moves 200 KB each way over the HB instructions', async () => {
    const host = new VmxHost();
    const path = join(mkdtempSync(join(tmpdir(), 'bdn-trap-')), 'h.sock');
    server = await serveHost(host, path);
    const value = Buffer.alloc(200 * 1024);
    for (let i = 0; i < value.length; i++) value[i] = 0x21 + ((i * 7) % 90);
    host.rpci.setGuestinfo('guestinfo.big', value.toString('latin1'));
    // Guest→host stays under the 64 KiB limit: a 60 KiB info-set, then a 200 KB info-get back.
    const setValue = 'w'.repeat(60 * 1024);
    const set = await rpcUnderTrap(path, 'vmware', `info-set guestinfo.small ${setValue}`, {
      VMW9_BACKDOOR: '',
    });
    expect(set.stderr).toBe('');
    expect(JSON.parse(set.stdout)).toMatchObject({
      detection: 'vmware',
      cookies: true,
      head: '1 ',
    });
    expect(host.rpci.getGuestinfo('guestinfo.small')).toBe(setValue);

    const mark = host.log.mark();
    const get = await rpcUnderTrap(path, 'vmware', 'info-get guestinfo.big', { VMW9_BACKDOOR: '' });
    const r = JSON.parse(get.stdout);
    const expected = createHash('sha256')
      .update(Buffer.concat([Buffer.from('1 '), value]))
      .digest('hex');
    expect(r).toMatchObject({ detection: 'vmware', length: value.length + 2, sha: expected });
    const hb = host.log.entries(mark).filter((e) => e.op !== 'lb');
    expect(hb.map((e) => [e.name, e.bytes])).toEqual([
      ['HB.OUT', 'info-get guestinfo.big'.length],
      ['HB.IN', value.length + 2],
    ]);
  });

  it('forced mode (VMW9_BACKDOOR=force) with the real KVM CPUID passed through also reaches the simulator', async () => {
    const host = new VmxHost();
    const path = join(mkdtempSync(join(tmpdir(), 'bdn-trap-')), 'h.sock');
    const s = await serveHost(host, path);
    host.rpci.setGuestinfo('guestinfo.k', 'forced');
    const r = await rpcUnderTrap(path, 'pass', 'info-get guestinfo.k', { VMW9_BACKDOOR: 'force' });
    await s.close();
    expect(JSON.parse(r.stdout)).toMatchObject({ detection: 'probed', head: '1 forced' });
  });
});
