/** Serving the tree: where it listens, and the warning when other machines can reach it. */
import { RpciClient } from '@vmw9/rpc';
import { SimBackdoorPort, VmxHost } from '@vmw9/vmx-sim';
import { describe, expect, it } from 'vitest';
import { buildVmwareTree, serveVmwareTree } from '../src/index.js';

async function serveOn(listen: string) {
  const port = new SimBackdoorPort(new VmxHost());
  const tree = buildVmwareTree({ port, rpc: RpciClient.overPort(port), transport: 'sim (test)' });
  return serveVmwareTree(tree, { listen });
}

describe('serving on TCP', () => {
  it('warns when the address reaches beyond this machine, and only then', async () => {
    const open = await serveOn('tcp!0.0.0.0!0');
    try {
      expect(open.warning).toMatch(
        /^tcp!0\.0\.0\.0!\d+ is reachable from other machines: anyone who connects/,
      );
    } finally {
      await open.close();
    }
    for (const local of ['tcp!127.0.0.1!0', 'tcp!localhost!0']) {
      const s = await serveOn(local);
      try {
        expect(s.warning).toBeNull();
      } finally {
        await s.close();
      }
    }
  });
});
