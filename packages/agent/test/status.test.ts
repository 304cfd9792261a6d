/** The agent's `status` file: what `vmw9 status` reports, moving as the agent works. */
import { parseAgentStatus } from '@vmw9/fs';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, handshake, startOnSim, waitFor } from './helpers.js';

afterEach(cleanup);

describe('status', () => {
  it('says who the agent is, where it serves, how it reaches the host, and its services', async () => {
    const s = await startOnSim();
    await handshake(s.host);
    const c = await s.client();
    const text = (await c.readFile('status')).toString();
    expect(text).toMatch(/^agent vmw9-agent \S+\npid \d+\naddress unix!.*\ntransport sim /);
    const st = parseAgentStatus(text);
    expect(st.pid).toBe(process.pid);
    expect(st.address).toBe(`unix!${s.fsPath}`);
    expect(st.transport).toBe(s.agent.transport.description);
    expect(st.started.getTime()).toBe(s.agent.started.getTime());
    expect(st.services.map((v) => v.name)).toEqual(
      expect.arrayContaining(['power', 'timesync', 'guestinfo', 'resolution']),
    );
    expect(st.tclo.map((t) => t.app)).toContain('toolbox');
    expect(st.tclo.find((t) => t.app === 'toolbox')!.state).toBe('open');
  });

  it('moves: the last command, its answer and the command count follow what the host sends', async () => {
    const s = await startOnSim();
    await handshake(s.host);
    const c = await s.client();
    const toolbox = async () => {
      const t = parseAgentStatus((await c.readFile('status')).toString()).tclo.find(
        (x) => x.app === 'toolbox',
      );
      return t!;
    };
    const before = await toolbox();
    // The handshake ends with the host's options, copy/paste and drag-and-drop on by default.
    expect(before.last).toMatchObject({ command: 'Set_Option', ok: true });

    s.host.tclo.queueCommand('TimeInfo_Update', 'toolbox');
    await waitFor('the TimeInfo_Update reply', () =>
      s.host.tclo.replies.some((r) => r.command === 'TimeInfo_Update'),
    );
    const after = await waitFor('the status to show it', async () => {
      const t = await toolbox();
      return t.last?.command === 'TimeInfo_Update' ? t : null;
    });
    expect(after.last!.ok).toBe(true);
    expect(after.commands).toBeGreaterThan(before.commands);
    expect(after.last!.at.getTime()).toBeGreaterThanOrEqual(before.last!.at.getTime());

    // A command nobody answers is still the last command, answered with an error.
    s.host.tclo.queueCommand('Frobnicate_Now', 'toolbox');
    const unknown = await waitFor('the unknown command in status', async () => {
      const t = await toolbox();
      return t.last?.command === 'Frobnicate_Now' ? t : null;
    });
    expect(unknown.last!.ok).toBe(false);
  });

  it('is a snapshot per open: a fid reads the text it opened with', async () => {
    const s = await startOnSim();
    await handshake(s.host);
    const c = await s.client();
    const fid = await c.walk('status');
    await c.open(fid, 'r');
    const first = Buffer.from(await c.read(fid, 0, 8192)).toString();
    s.host.tclo.queueCommand('TimeInfo_Update', 'toolbox');
    await waitFor('the TimeInfo_Update reply', () =>
      s.host.tclo.replies.some((r) => r.command === 'TimeInfo_Update'),
    );
    // The same fid past its start: the same text (the snapshot), then EOF.
    expect(Buffer.from(await c.read(fid, 10, 8192)).toString()).toBe(first.slice(10));
    expect((await c.read(fid, first.length, 8192)).length).toBe(0);
    await c.clunk(fid);
    expect((await c.readFile('status')).toString()).toMatch(/lastcommand toolbox TimeInfo_Update ok/);
  });
});
