/**
 * Host services from the shell: `snarf`, `mouse`, `time`, `version` (`stat` is stat.ts). Each opens the host
 * (--host), does one thing, and closes it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { AGENT_ANSWER_MS, agentTree } from '../agent-socket.js';
import { CliError, Exit } from '../exit.js';
import { type HostOptions, openHost } from '../host.js';
import { type Output, printJson } from '../output.js';

async function withHost<T>(
  opts: HostOptions,
  fn: (port: import('@vmw9/backdoor').BackdoorPort, b: typeof import('@vmw9/backdoor')) => Promise<T>,
): Promise<T> {
  const b = await import('@vmw9/backdoor');
  const { port } = await openHost(opts);
  try {
    return await fn(port, b);
  } catch (e) {
    if (e instanceof CliError) throw e;
    if (e instanceof b.UnsupportedCommand)
      throw new CliError(`${e.message} (no such service on this host)`, Exit.FAILED);
    if (e instanceof TypeError) throw new CliError(e.message, Exit.USAGE);
    throw new CliError((e as Error).message, Exit.FAILED);
  } finally {
    await port.close?.();
  }
}

/** `vmw9 snarf` through the agent: its tree's `snarf` (copy/paste v4 when the host negotiated it). */
async function snarfThroughAgent(o: Output, copy: boolean, address: string): Promise<number> {
  const ninep = await import('ninep');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CliError(`${address}: no 9P answer within ${AGENT_ANSWER_MS / 1000} s`, Exit.FAILED)),
      AGENT_ANSWER_MS,
    );
    timer.unref();
  });
  let client: import('ninep').NinepClient | undefined;
  try {
    // 9P2000.u: errors carry the tree's text (the limit a write went over, …).
    client = await Promise.race([ninep.NinepClient.connect(address, { version: '9P2000.u' }), timeout]);
    clearTimeout(timer);
    const c = client;
    if (copy) {
      const data = readFileSync(0);
      // The copy is made at the close (docs/protocol/tree.md §4): its error is the command's.
      await c.writeFile('/snarf', data);
      if (o.json) printJson(o, { copied: data.length, via: 'agent' });
      return Exit.OK;
    }
    const data = await c.readFile('/snarf');
    if (o.json) printJson(o, { text: data.toString('utf8'), via: 'agent' });
    else process.stdout.write(data);
    return Exit.OK;
  } catch (e) {
    if (e instanceof CliError) throw e;
    if (e instanceof ninep.RemoteError)
      throw new CliError(`snarf: ${e.ename}`, Exit.FAILED, { via: 'agent' });
    if (e instanceof ninep.ConnectError)
      throw new CliError(`snarf: no agent: ${e.message}`, Exit.FAILED, { socket: address });
    throw new CliError(`snarf: ${(e as Error).message}`, Exit.FAILED);
  } finally {
    clearTimeout(timer);
    client?.close();
  }
}

/**
 * `vmw9 snarf` pastes the host clipboard to stdout; `vmw9 snarf -` copies stdin to it. Through the
 * running agent when there is one (its `snarf`: copy/paste v4 when negotiated, which the host
 * takes at its next request); else straight to the host's legacy clipboard, said on stderr.
 */
export async function snarfCommand(
  o: Output,
  copy: string | undefined,
  opts: HostOptions & { socket?: string },
): Promise<number> {
  if (copy !== undefined && copy !== '-')
    throw new CliError('vmw9 snarf takes no argument, or - to copy standard input', Exit.USAGE);
  const address = await agentTree(opts.socket);
  if (address) return snarfThroughAgent(o, copy === '-', address);
  return withHost(opts, async (port, b) => {
    const note = `snarf: no agent running; used the host's legacy clipboard (text only, up to ${b.MAX_CLIPBOARD_SEND} bytes)`;
    try {
      if (copy === '-') {
        const data = readFileSync(0);
        if (data.length > b.MAX_CLIPBOARD_SEND)
          throw new CliError(
            `snarf: ${data.length} bytes is over the host's legacy clipboard limit of ${b.MAX_CLIPBOARD_SEND} bytes, and no agent is running (start one: vmw9 agent; it uses copy/paste v4, up to 4 MiB, when the host offers it)`,
            Exit.FAILED,
          );
        await b.setClipboard(port, data);
        o.err(`vmw9: ${note}`);
        if (o.json) printJson(o, { copied: data.length, via: 'legacy' });
        return Exit.OK;
      }
      const data = Buffer.from(await b.getClipboard(port));
      o.err(`vmw9: ${note}`);
      if (o.json) printJson(o, { text: data.toString('utf8'), via: 'legacy' });
      else process.stdout.write(data);
      return Exit.OK;
    } catch (e) {
      if (e instanceof b.UnsupportedCommand || e instanceof b.ClipboardDisabled)
        throw new CliError(
          'snarf: no agent running, and the host refuses its legacy clipboard: start the agent (vmw9 agent), which uses copy/paste v4',
          Exit.FAILED,
          { via: 'legacy' },
        );
      throw e;
    }
  });
}

/** `vmw9 mouse`: watches the absolute pointer, one line per packet, until interrupted (or --count). */
export async function mouseCommand(
  o: Output,
  opts: HostOptions & { count?: string; interval?: string },
): Promise<number> {
  const count = opts.count === undefined ? Number.POSITIVE_INFINITY : Number(opts.count);
  const interval = Number(opts.interval ?? 10);
  if (!(count > 0) || !(interval >= 1))
    throw new CliError('--count and --interval take positive numbers', Exit.USAGE);
  return withHost(opts, async (port, b) => {
    const dev = new b.VmMouseDevice(port);
    await dev.enable();
    await dev.requestAbsolute();
    let stop = false;
    const onSig = () => {
      stop = true;
    };
    process.once('SIGINT', onSig);
    process.once('SIGTERM', onSig);
    let seen = 0;
    try {
      while (!stop && seen < count) {
        for (const p of await dev.readPackets()) {
          seen++;
          if (o.json) o.out(JSON.stringify(p));
          else
            o.out(
              `x ${p.x} y ${p.y} buttons ${[p.left && 'left', p.middle && 'middle', p.right && 'right'].filter(Boolean).join(',') || '-'} wheel ${p.wheel}`,
            );
          if (seen >= count) break;
        }
        if (seen < count) await new Promise((r) => setTimeout(r, interval));
      }
    } finally {
      process.off('SIGINT', onSig);
      process.off('SIGTERM', onSig);
      await dev.disable().catch(() => undefined);
    }
    return Exit.OK;
  });
}

/** `vmw9 time`: the host clock against this machine's, and the difference. */
export async function timeCommand(o: Output, opts: HostOptions): Promise<number> {
  return withHost(opts, async (port, b) => {
    const before = Date.now();
    const t = await b.getHostTime(port);
    const guest = (before + Date.now()) / 2;
    const hostMs = t.seconds * 1000 + t.microseconds / 1000;
    const diff = Math.round(guest - hostMs);
    if (o.json)
      printJson(o, {
        host: new Date(hostMs).toISOString(),
        guest: new Date(guest).toISOString(),
        guestMinusHostMs: diff,
        source: t.source,
      });
    else {
      o.out(`host  ${new Date(hostMs).toISOString()} (${t.source})`);
      o.out(`guest ${new Date(guest).toISOString()}`);
      o.out(`guest is ${Math.abs(diff)} ms ${diff >= 0 ? 'ahead of' : 'behind'} the host`);
    }
    return Exit.OK;
  });
}

/** `vmw9 version`: this CLI's version and Node's. */
/** The layers `vmw9 version` reports, in the order they stack. */
const LAYERS = [
  '@vmw9/backdoor',
  '@vmw9/backdoor-native',
  '@vmw9/msgchan',
  '@vmw9/rpc',
  '@vmw9/hgfs',
  '@vmw9/dndcp',
  'ninep',
  '@vmw9/fs',
  '@vmw9/vmx-sim',
  '@vmw9/agent',
] as const;

/** vmw9's version and each layer's, as installed beside it (`not installed` when one is missing). */
export function versionCommand(o: Output): number {
  const require = createRequire(import.meta.url);
  const pkg = require('../../package.json') as { version: string };
  // The native loader is the agent's dependency, not the CLI's: look for it from the agent.
  const fromAgent = (() => {
    try {
      return createRequire(require.resolve('@vmw9/agent/package.json'));
    } catch {
      return null;
    }
  })();
  const layers: Record<string, string> = {};
  for (const name of LAYERS) {
    let version = 'not installed';
    for (const r of fromAgent ? [require, fromAgent] : [require]) {
      try {
        version = (r(`${name}/package.json`) as { version: string }).version;
        break;
      } catch {}
    }
    layers[name] = version;
  }
  if (o.json) printJson(o, { vmw9: pkg.version, node: process.version, layers });
  else {
    o.out(`vmw9 ${pkg.version} (node ${process.version})`);
    for (const [name, version] of Object.entries(layers)) o.out(`  ${name} ${version}`);
  }
  return Exit.OK;
}
