// Boots real TCG guests (about 2 s boot + 2 s for node's cold start over 9p), so the
// timeouts are generous. The guest runs the host's own node through the 9p root share.
import { describe, expect, it } from 'vitest';
import { runGuest } from '../src/index.js';

describe('qemu-harness', () => {
  it('runs the host node inside the guest', { timeout: 180_000 }, async () => {
    const r = await runGuest({ command: ['node', '-e', 'console.log(process.version)'] });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe(process.version);
    expect(r.bootMs).toBeGreaterThan(0);
    expect(r.wallMs).toBeGreaterThanOrEqual(r.bootMs);
  });

  it('propagates a non-zero exit code', { timeout: 180_000 }, async () => {
    const r = await runGuest({ command: ['sh', '-c', 'exit 3'] });
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe('');
  });
});
