/**
 * Host services from the shell: `snarf`, `mouse`, `stat`, `time`, `version`. Each opens the host
 * (--host), does one thing, and closes it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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

/** `vmw9 snarf` pastes the host clipboard to stdout; `vmw9 snarf -` copies stdin to it. */
export async function snarfCommand(o: Output, copy: string | undefined, opts: HostOptions): Promise<number> {
  if (copy !== undefined && copy !== '-')
    throw new CliError('vmw9 snarf takes no argument, or - to copy standard input', Exit.USAGE);
  return withHost(opts, async (port, b) => {
    if (copy === '-') {
      const data = readFileSync(0);
      await b.setClipboard(port, data);
      if (o.json) printJson(o, { copied: data.length });
      return Exit.OK;
    }
    const data = Buffer.from(await b.getClipboard(port));
    if (o.json) printJson(o, { text: data.toString('utf8') });
    else process.stdout.write(data);
    return Exit.OK;
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

/** `vmw9 stat hosttime|speed|memory|uuid`, worded like vmware-toolbox-cmd stat. */
const STATISTICS = ['hosttime', 'speed', 'memory', 'uuid'] as const;

export async function statCommand(o: Output, what: string, opts: HostOptions): Promise<number> {
  // A word that names nothing is a usage error, found before any host is opened.
  if (!STATISTICS.includes(what as (typeof STATISTICS)[number]))
    throw new CliError(`unknown statistic "${what}" (${STATISTICS.join(', ')})`, Exit.USAGE);
  return withHost(opts, async (port, b) => {
    let value: unknown;
    let text: string;
    switch (what) {
      case 'hosttime': {
        const t = await b.getHostTime(port);
        value = t.date.toISOString();
        // vmware-toolbox-cmd prints local time as "%d %b %Y %H:%M:%S".
        const d = t.date;
        const mon = d.toLocaleString('en-US', { month: 'short' });
        const pad = (n: number) => String(n).padStart(2, '0');
        text = `${pad(d.getDate())} ${mon} ${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
        break;
      }
      case 'speed':
        value = await b.getCpuMhz(port);
        text = `${value} MHz`;
        break;
      case 'memory': {
        const m = await b.getMemorySize(port);
        value = m;
        text = `${Math.round(m.megabytes)} MB${m.truncated ? ' (the host answered bytes cut to 32 bits)' : ''}`;
        break;
      }
      case 'uuid':
        value = await b.getBiosUuid(port);
        text = String(value);
        break;
      default:
        throw new Error(`unreachable: ${what}`);
    }
    if (o.json) printJson(o, { [what]: value });
    else o.out(text);
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
