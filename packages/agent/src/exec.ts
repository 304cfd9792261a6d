/**
 * Runs a power-operation script or a system command with a deadline. Children run in their own
 * process group so a timeout kills the whole script, not just the shell; their output goes to
 * the log (at most a few KiB), never to our stdout.
 */
import { spawn } from 'node:child_process';
import { CommandFailed } from './errors.js';

export interface RunResult {
  output: string;
}

const MAX_OUTPUT = 4096;

/** Runs `file args…` (or `/bin/sh -c line` via runShell); rejects with CommandFailed. */
export function runCommand(
  file: string,
  args: string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunResult> {
  const label = [file, ...args].join(' ');
  return new Promise((resolve, reject) => {
    let output = '';
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
    const collect = (d: Buffer) => {
      if (output.length < MAX_OUTPUT) output += d.toString('utf8').slice(0, MAX_OUTPUT - output.length);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let timedOut = false;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            try {
              if (child.pid) process.kill(-child.pid, 'SIGKILL');
            } catch {
              child.kill('SIGKILL');
            }
          }, timeoutMs)
        : undefined;
    child.on('error', (e) => {
      clearTimeout(timer);
      const code = (e as NodeJS.ErrnoException).code;
      reject(new CommandFailed(label, code === 'ENOENT' ? 'not found' : e.message));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) reject(new CommandFailed(label, `still running after ${timeoutMs} ms: killed`));
      else if (code === 0) resolve({ output });
      else
        reject(
          new CommandFailed(
            label,
            `${signal ? `killed by ${signal}` : `exit status ${code}`}${output ? `: ${output.trim()}` : ''}`,
          ),
        );
    });
  });
}

export function runShell(line: string, timeoutMs: number): Promise<RunResult> {
  return runCommand('/bin/sh', ['-c', line], timeoutMs);
}
