/**
 * For CLI tests: a simulated host served from the test process, and the built CLI run against it
 * asynchronously (this process serves the host, so a synchronous spawn would deadlock).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SimServer, serveHost, VmxHost, type VmxHostOptions } from '@vmw9/vmx-sim';
import { afterAll, beforeAll } from 'vitest';

export const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

export interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Runs the built vmw9 with ARGS (asynchronously), `stdin` as its standard input, `env` added to ours. */
export function runVmw9(args: string[], stdin = '', env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => resolve({ code, out, err }));
    c.stdin.end(stdin);
  });
}

/** Serves a VmxHost for the file's tests; `sim.host` and `sim.vmw9` are ready in the tests. */
export function useSimHost(opts?: VmxHostOptions) {
  const sim = {
    host: undefined as unknown as VmxHost,
    addr: '',
    /** `vmw9 --host unix!… ARGS`, with `stdin` as standard input. */
    vmw9: (args: string[], stdin = ''): Promise<Run> => runVmw9(['--host', sim.addr, ...args], stdin),
  };
  let server: SimServer;
  beforeAll(async () => {
    sim.host = new VmxHost(opts);
    const path = join(mkdtempSync(join(tmpdir(), 'vmw9-cli-')), 'h.sock');
    server = await serveHost(sim.host, path);
    sim.addr = `unix!${path}`;
  });
  afterAll(() => server.close());
  return sim;
}
