/** Runs `ninepCommand` with in-memory stdio; returns its status and what it printed. */
import { PassThrough, Readable } from 'node:stream';
import { ninepCommand } from '../../src/cli.js';

export async function runNinepCommand(
  args: string[],
  input: string | Buffer = '',
): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const o: Buffer[] = [];
  const e: Buffer[] = [];
  out.on('data', (d: Buffer) => o.push(d));
  err.on('data', (d: Buffer) => e.push(d));
  const code = await ninepCommand(args, {
    stdin: Readable.from([Buffer.from(input)]),
    stdout: out,
    stderr: err,
  });
  return { code, out: Buffer.concat(o).toString(), err: Buffer.concat(e).toString() };
}
