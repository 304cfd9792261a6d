/**
 * `vmw9 agent --log-format`: the agent's log as the user sees it on standard error. A pipe is not a
 * terminal, so without the option the lines are JSON; `pretty` makes them readable anyway.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vmw9-agent-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts the agent on the embedded simulator, waits for its "serving" line, stops it with SIGINT. */
async function agentLog(name: string, ...args: string[]): Promise<{ code: number | null; err: string }> {
  const child = spawn(
    process.execPath,
    [bin, '--host', 'sim', 'agent', '--listen', `unix!${join(dir, `${name}.sock`)}`, ...args],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, VMW9_BACKDOOR: '' } },
  );
  let err = '';
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      if (err.includes('serving the vmware tree')) resolve();
    });
    child.on('exit', () => reject(new Error(`the agent exited before serving:\n${err}`)));
  });
  child.kill('SIGINT');
  return { code: await exited, err };
}

describe('vmw9 agent --log-format', () => {
  it('on a pipe, by default: JSON lines', async () => {
    const r = await agentLog('auto');
    expect(r.code).toBe(0);
    // Every line parses (JSON.parse throws on the first that does not).
    const messages = r.err
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).msg);
    expect(messages).toContain('serving the vmware tree');
  });

  it('pretty: readable lines (not JSON) with the level and the message', async () => {
    const r = await agentLog('pretty', '--log-format', 'pretty');
    expect(r.code).toBe(0);
    for (const line of r.err.trim().split('\n')) expect(() => JSON.parse(line), line).toThrow();
    expect(r.err).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: serving the vmware tree .*\.sock/m);
  });

  it('a format it does not know is a usage error (exit 2, one line)', () => {
    const r = spawnSync(process.execPath, [bin, 'agent', '--log-format', 'xml'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('vmw9: --log-format: expected one of auto, json, pretty, got "xml"\n');
  });
});
