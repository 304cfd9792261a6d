/** Starting an agent on a simulated host for tests: fast polling, a recording clock, logs kept. */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VmxHost, type VmxHostOptions } from '@vmw9/vmx-sim';
import { NinepClient } from 'ninep';
import { Agent, type AgentStartOptions, parseConfig } from '../src/index.js';

export interface Started {
  agent: Agent;
  host: VmxHost;
  dir: string;
  fsPath: string;
  logs: string[];
  clock: number[];
  client(): Promise<NinepClient>;
}

const running: Array<() => Promise<void>> = [];

/** Stops what the tests started (call from afterEach). */
export async function cleanup(): Promise<void> {
  while (running.length) await running.pop()!();
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'vmw9-agent-'));
}

/** A shell script that appends its argument and a word to a marker file. */
export function markerScript(dir: string, name: string, marker: string, exit = 0): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\necho "ran $1" >> '${marker}'\nexit ${exit}\n`);
  chmodSync(p, 0o755);
  return p;
}

export async function startOnSim(
  opts: {
    config?: string;
    hostOptions?: VmxHostOptions;
    /** A host prepared by the test (its handlers changed before the agent starts). */
    host?: VmxHost;
    agent?: Partial<AgentStartOptions>;
    dir?: string;
  } = {},
): Promise<Started> {
  const dir = opts.dir ?? tempDir();
  const host = opts.host ?? new VmxHost(opts.hostOptions);
  const logs: string[] = [];
  const clock: number[] = [];
  const fsPath = join(dir, 'fs.sock');
  const config = parseConfig(opts.config ?? '[powerops]\nsystem-actions = false\n', 'test.conf');
  // Drops land in the test's directory, never the user's cache.
  config.dnd.dir ??= join(dir, 'dnd');
  const agent = await Agent.start({
    host: 'sim',
    simHost: host,
    config,
    listen: `unix!${fsPath}`,
    log: { level: 'debug', stream: { write: (l: string) => void logs.push(l) } },
    setClock: async (ms) => {
      clock.push(ms);
    },
    ntpActive: async () => null,
    tclo: { minDelayMs: 1, maxDelayMs: 10, restartDelayMs: 20 },
    ...opts.agent,
  });
  const clients: NinepClient[] = [];
  running.push(async () => {
    for (const c of clients) c.close();
    await agent.stop();
  });
  return {
    agent,
    host,
    dir,
    fsPath,
    logs,
    clock,
    async client() {
      const c = await NinepClient.connect(`unix!${fsPath}`);
      clients.push(c);
      return c;
    },
  };
}

/** Waits until `check` returns a truthy value (polling), or fails with `what`. */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  // Generous: a busy machine is slow; only a hang should reach it.
  timeoutMs = 30_000,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The host's handshake with a fresh agent is over: reset, ping, Capabilities_Register and every
 * Set_Option the host sends (its defaults copypaste and enableDnD, then its list) answered.
 */
export async function handshake(host: VmxHost): Promise<void> {
  const last = host.tclo.options.options.at(-1);
  const final = last ? `Set_Option ${last[0]} ${last[1]}` : 'Capabilities_Register';
  await waitFor(`the ${final} reply`, () => host.tclo.replies.some((r) => r.command === final));
}

/** Reads an event file until a line matching `re` arrives. */
export async function readEventUntil(
  c: NinepClient,
  path: string,
  re: RegExp,
  start?: () => void,
): Promise<string> {
  const fid = await c.walk(path);
  await c.open(fid, 'r');
  let seen = '';
  try {
    let first = true;
    for (;;) {
      const p = c.read(fid, 0, 8192);
      if (first) {
        first = false;
        start?.();
      }
      seen += Buffer.from(await p).toString();
      if (re.test(seen)) return seen;
    }
  } finally {
    await c.clunk(fid).catch(() => undefined);
  }
}

/** One read of a file whose later reads block until a change (wctl, power). */
export async function readOnce(c: NinepClient, path: string): Promise<string> {
  const fid = await c.walk(path);
  try {
    await c.open(fid, 'r');
    return Buffer.from(await c.read(fid, 0, 8192)).toString();
  } finally {
    await c.clunk(fid);
  }
}
