/**
 * `vmw9 mount` for real: in the QEMU guest (root, Debian's kernel with 9p), `vmw9 serve --host sim`
 * serves the tree on a Unix socket, `vmw9 mount` mounts it with trans=unix, and files are read and
 * written through the kernel.
 */
import { runGuest } from '@vmw9/qemu-harness';
import { describe, expect, it } from 'vitest';

describe('vmw9 mount', () => {
  it('mounts the served tree with the kernel and reads and writes through it', async () => {
    const script = `
      S=/dev/shm/vmware.sock; M=/dev/shm/vmware
      node apps/cli/dist/bin.js --host sim serve --listen "unix!$S" </dev/null 2>/dev/shm/serve.log &
      for i in $(seq 200); do [ -S $S ] && break; sleep 0.1; done
      node apps/cli/dist/bin.js mount --socket $S --dir $M; echo "mount-exit $?"
      echo "version: $(sed -n 3p $M/version)"
      echo copied > $M/snarf; echo "snarf: $(cat $M/snarf)"
      echo "uuid: $(cat $M/info/uuid)"
      umount $M; echo "umount-exit $?"; kill %1 2>/dev/null; kill $! 2>/dev/null; true`;
    const r = await runGuest({ ioperm: false, command: ['sh', '-c', script], timeoutMs: 150_000 });
    expect(r.stdout).toContain('mount-exit 0\n');
    expect(r.stdout).toMatch(/version: transport sim/);
    expect(r.stdout).toContain('snarf: copied\n');
    expect(r.stdout).toMatch(/uuid: [0-9a-f]{8}-[0-9a-f]{4}-/);
    expect(r.stdout).toContain('umount-exit 0\n');
  });
});
