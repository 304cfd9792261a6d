/**
 * The systemd unit puts the agent's socket where every client looks for the system agent: its
 * RuntimeDirectory is the directory of @vmw9/fs's SYSTEM_AGENT_SOCKET, root's default, and no
 * XDG_RUNTIME_DIR (set or inherited) moves it elsewhere. Its memory settings are ones Node and
 * systemd take.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultTreeSocket, SYSTEM_AGENT_SOCKET } from '@vmw9/fs';
import { describe, expect, it } from 'vitest';

const unit = readFileSync(fileURLToPath(new URL('../systemd/vmw9-agent.service', import.meta.url)), 'utf8');
const settings = (key: string) =>
  [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());

describe('vmw9-agent.service', () => {
  it("serves on the system agent's socket: RuntimeDirectory=vmw9 as root, XDG_RUNTIME_DIR unset", () => {
    expect(settings('RuntimeDirectory')).toEqual([basename(dirname(SYSTEM_AGENT_SOCKET))]);
    expect(settings('RuntimeDirectoryMode')).toEqual(['0700']);
    expect(settings('UnsetEnvironment')).toEqual(['XDG_RUNTIME_DIR']);
    expect(settings('Environment').filter((e) => e.startsWith('XDG_RUNTIME_DIR'))).toEqual([]);
    expect(settings('User')).toEqual([]);
    // The agent as the unit runs it (root, no XDG_RUNTIME_DIR) listens there by default.
    if (existsSync(dirname(dirname(SYSTEM_AGENT_SOCKET))))
      expect(defaultTreeSocket({ env: {}, uid: 0 })).toBe(SYSTEM_AGENT_SOCKET);
  });

  it('stages drag-and-drop drops in its own cache directory, the one place it may write besides /run', () => {
    expect(settings('CacheDirectory')).toEqual(['vmw9']);
    expect(settings('CacheDirectoryMode')).toEqual(['0700']);
    expect(settings('ExecStart')[0]).toMatch(/ --dnd-dir \/var\/cache\/vmw9\/dnd$/);
    expect(settings('ProtectHome')).toEqual(['read-only']);
  });

  it('caps its memory and gives Node options Node takes from the environment', () => {
    expect(settings('MemoryMax')).toEqual(['256M']);
    const nodeOptions = settings('Environment').filter((e) => e.startsWith('NODE_OPTIONS='));
    expect(nodeOptions).toEqual(['NODE_OPTIONS=--max-semi-space-size=2']);
    // Node refuses to start on an option NODE_OPTIONS may not carry.
    const r = spawnSync(process.execPath, ['-e', '0'], {
      env: { ...process.env, NODE_OPTIONS: nodeOptions[0]!.slice('NODE_OPTIONS='.length) },
    });
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
  });
});
