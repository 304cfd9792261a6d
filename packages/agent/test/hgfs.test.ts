/**
 * The hgfs service (docs/protocol/tree.md §17): the agent's tree has hgfs/ over its own pool of
 * RPCI channels, shown with the [hgfs] owners and masks; a host reset forgets the session; the
 * agent's stop ends it and closes the channels; `enabled = false` asks the host nothing.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VmxHost } from '@vmw9/vmx-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { hgfsService } from '../src/index.js';
import { cleanup, handshake, startOnSim, tempDir, waitFor } from './helpers.js';

afterEach(cleanup);

function hostWithShare() {
  const dir = tempDir();
  const share = join(dir, 'share');
  mkdirSync(share);
  writeFileSync(join(share, 'hello.txt'), 'from the host\n');
  const host = new VmxHost({ hgfs: { shares: [{ name: 'docs', dir: share, readOnly: false }] } });
  return { dir, share, host };
}

describe('the hgfs service', () => {
  it('serves the shares with the configured owners and masks, in the agent’s tree', async () => {
    const { dir, share, host } = hostWithShare();
    const s = await startOnSim({
      host,
      dir,
      config:
        '[powerops]\nsystem-actions = false\n[hgfs]\nchannels = 2\nuid = 4242\ngid = 7\nfmask = 022\nmax-open-files = 1\n',
    });
    const c = await s.client();
    expect((await c.readdir('hgfs')).map((e) => e.name)).toEqual(['docs']);
    expect((await c.readFile('hgfs/docs/hello.txt')).toString()).toBe('from the host\n');
    await c.writeFile('hgfs/docs/new.txt', Buffer.from('from the guest'));
    expect(readFileSync(join(share, 'new.txt'), 'utf8')).toBe('from the guest');
    const st = await c.stat('hgfs/docs/new.txt');
    expect(st).toMatchObject({ nUid: 4242, nGid: 7 });
    expect(st.mode & 0o022).toBe(0);
    // max-open-files = 1: a second file open at once is refused (EMFILE) until the first is clunked.
    const first = await c.walk('hgfs/docs/hello.txt');
    await c.open(first, 'r');
    const second = await c.walk('hgfs/docs/new.txt');
    await expect(c.open(second, 'r')).rejects.toMatchObject({ errno: 24 });
    await c.clunk(first);
    await c.open(second, 'r');
    await c.clunk(second);
    const svc = s.agent.service(hgfsService);
    expect(svc.transport?.pool.capacity).toBe(2);
    expect(host.hgfs.counts().CREATE_SESSION_V4).toBe(1);
  });

  it('forgets the session at a host reset (the next request makes one), ends it at stop', async () => {
    const { dir, host } = hostWithShare();
    const s = await startOnSim({ host, dir });
    await handshake(host);
    const c = await s.client();
    expect((await c.readFile('hgfs/docs/hello.txt')).toString()).toBe('from the host\n');
    expect(host.hgfs.counts().CREATE_SESSION_V4).toBe(1);
    host.reset();
    await waitFor('the second reset', () => s.agent.resets === 2);
    expect((await c.readFile('hgfs/docs/hello.txt')).toString()).toBe('from the host\n');
    expect(host.hgfs.counts().CREATE_SESSION_V4).toBe(2);
    c.close();
    await s.agent.stop();
    expect(host.hgfs.counts().DESTROY_SESSION_V4).toBe(1);
    expect(host.channels.all().filter((ch) => ch.kind === 'RPCI')).toEqual([]);
  });

  it('with enabled = false there is no hgfs/ and no HGFS request', async () => {
    const { dir, host } = hostWithShare();
    const s = await startOnSim({
      host,
      dir,
      config: '[powerops]\nsystem-actions = false\n[hgfs]\nenabled = false\n',
    });
    const c = await s.client();
    expect((await c.readdir('')).map((e) => e.name)).not.toContain('hgfs');
    await expect(c.stat('hgfs')).rejects.toMatchObject({ errno: 2 });
    expect(host.hgfs.counts()).toEqual({});
    expect(s.agent.service(hgfsService).transport).toBeNull();
  });
});
