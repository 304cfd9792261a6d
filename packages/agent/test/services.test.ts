/**
 * Services as plugins: a service defined here, registered beside the built-in ones, is routed as
 * they are — its command on its own TCLO app channel, its capability, its option, its reset hook
 * and its file — and conflicting claims are refused at start.
 */
import type { HostEvent } from '@vmw9/fs';
import { StatusFile } from 'ninep';
import { afterEach, describe, expect, it } from 'vitest';
import { type AgentService, powerService, ServiceConflict, type ServiceContext } from '../src/index.js';
import { cleanup, handshake, startOnSim, waitFor } from './helpers.js';

afterEach(cleanup);

/** A user-session service: it answers Echo_Say on toolbox-dnd and remembers its option. */
function echoService(
  ctx: ServiceContext,
): AgentService & { readonly seen: { volume: string[]; resets: number } } {
  const seen = { volume: [] as string[], resets: 0 };
  return {
    name: 'echo',
    app: 'toolbox-dnd',
    seen,
    commands: {
      Echo_Say: (args) => {
        ctx.events.publish({ type: 'note', line: `echo said ${args}` });
        return `said ${args}`;
      },
    },
    capabilities: { echo_say: 1 },
    options: { 'echo.volume': (value) => void seen.volume.push(value) },
    files: [new StatusFile('echo', () => `volume ${seen.volume.join(' ')}\n`)],
    onReset() {
      seen.resets++;
    },
  };
}

describe('an extra service', () => {
  it('is routed on its channel: command, capability, option, reset, file and events', async () => {
    const s = await startOnSim({ agent: { services: [echoService] } });
    const events: HostEvent[] = [];
    s.agent.events.subscribe((e) => void events.push(e));
    const echo = s.agent.service(echoService);
    await handshake(s.host);
    // Its channel has its own TCLO loop, which registered as toolbox-dnd.
    await waitFor('the toolbox-dnd registration', () =>
      s.host.tclo.replies.find((r) => r.command === 'reset' && r.reply === 'OK ATR toolbox-dnd'),
    );
    await waitFor('unified_loop toolbox-dnd', () => s.host.rpci.unifiedLoop.has('toolbox-dnd'));
    expect(s.agent.loops.has('toolbox-dnd')).toBe(true);

    // Capabilities_Register on its channel: its capability reaches the host.
    await waitFor('its capability', () => s.host.rpci.capabilities.get('echo_say'));
    expect(s.host.rpci.capabilities.get('echo_say')).toBe('1');

    // The command, sent to its channel, is answered by it.
    s.host.tclo.queueCommand('Echo_Say hello', 'toolbox-dnd');
    const said = await s.host.tclo.waitForReply('Echo_Say hello');
    expect(said).toMatchObject({ reply: 'OK said hello', app: 'toolbox-dnd' });
    expect(events).toContainEqual({ type: 'note', line: 'echo said hello' });
    // The system channel does not know it.
    s.host.tclo.queueCommand('Echo_Say there', 'toolbox');
    expect((await s.host.tclo.waitForReply('Echo_Say there')).reply).toBe('ERROR Unknown Command');

    // Set_Option on its channel: it gets the value; the core records and publishes it.
    s.host.tclo.queueCommand('Set_Option echo.volume 11', 'toolbox-dnd');
    expect((await s.host.tclo.waitForReply('Set_Option echo.volume 11')).reply).toBe('OK ');
    expect(echo.seen.volume).toEqual(['11']);
    expect(s.agent.options.get('echo.volume')).toBe('11');
    expect(events).toContainEqual({ type: 'option', name: 'echo.volume', value: '11' });
    // On the system channel nobody owns it: refused with the core's text.
    s.host.tclo.queueCommand('Set_Option echo.volume 12', 'toolbox');
    expect((await s.host.tclo.waitForReply('Set_Option echo.volume 12')).reply).toBe(
      'ERROR Unknown or invalid option',
    );
    expect(echo.seen.volume).toEqual(['11']);

    // Its file is in the tree.
    const c = await s.client();
    expect((await c.readFile('echo')).toString()).toBe('volume 11\n');

    // A host reset: its reset hook runs again, and the capability is registered again.
    expect(echo.seen.resets).toBe(1);
    // `resets` counts the system channel's only.
    await waitFor('unified_loop toolbox', () => s.host.rpci.unifiedLoop.has('toolbox'));
    expect(s.agent.resets).toBe(1);
    s.host.rpci.capabilities.delete('echo_say');
    s.host.reset();
    await waitFor('its reset hook', () => echo.seen.resets === 2);
    await waitFor('its capability again', () => s.host.rpci.capabilities.get('echo_say') === '1');
    expect(events).toContainEqual({ type: 'reset' });
    await waitFor('the system channel reset', () => s.agent.resets === 2);
  });

  it('a service claiming a command, option or capability already taken is refused at start', async () => {
    const stealsPing = () => ({ name: 'thief', commands: { ping: () => 'mine' } });
    await expect(startOnSim({ agent: { services: [stealsPing] } })).rejects.toThrow(
      new ServiceConflict('thief', 'the command ping', 'the agent core'),
    );
    const stealsOption = () => ({ name: 'thief', options: { synctime: () => undefined } });
    await expect(startOnSim({ agent: { services: [stealsOption] } })).rejects.toThrow(
      /the service "thief" claims the option synctime on toolbox, which the service "timesync" already has/,
    );
    const stealsCapability = () => ({ name: 'thief', capabilities: { statechange: null } });
    await expect(startOnSim({ agent: { services: [stealsCapability] } })).rejects.toThrow(ServiceConflict);
    await expect(startOnSim({ agent: { services: [powerService] } })).rejects.toThrow(
      /the service "power" claims its name/,
    );
  });
});

describe('a service’s idle poll cap', () => {
  const capped = (pollMaxMs: number) => (): AgentService => ({
    name: `capped-${pollMaxMs}`,
    app: 'toolbox-dnd',
    pollMaxMs,
  });

  it('bounds its channel’s idle wait, the smallest of its services winning; other channels keep theirs', async () => {
    const s = await startOnSim({
      agent: { services: [capped(300), capped(150)], tclo: { minDelayMs: 1, maxDelayMs: 5000 } },
      config: '[powerops]\nsystem-actions = false\n[copypaste]\nenabled = false\n',
    });
    expect(s.agent.loops.get('toolbox-dnd')?.pollCapMs).toBe(150);
    expect(s.agent.loops.get('toolbox')?.pollCapMs).toBe(5000);
  });

  it('the copy/paste channel polls as vmusr does (100 ms); a smaller cap given to the agent wins', async () => {
    const s = await startOnSim({ agent: { tclo: { minDelayMs: 1 } } });
    expect(s.agent.loops.get('toolbox-dnd')?.pollCapMs).toBe(100);
    expect(s.agent.loops.get('toolbox')?.pollCapMs).toBe(1000);
    const t = await startOnSim();
    expect(t.agent.loops.get('toolbox-dnd')?.pollCapMs).toBe(10);
  });
});
