/**
 * `vmw9 rpc`, `vmw9 info`, `vmw9 log`: GuestRPC from the shell. `vmw9 rpc` behaves like
 * vmware-rpctool: the reply on stdout and exit 0 for `1 …`; the host's error on stderr and exit 1
 * for `0 …`; a transport error on stderr and exit 1. guestinfo values are bytes: `info set KEY -`
 * takes standard input as it is (less one final newline), `info get` writes the value as it is.
 */
import { readFileSync } from 'node:fs';
import { CliError, Exit } from '../exit.js';
import { type HostOptions, openHost } from '../host.js';
import { type Output, printJson } from '../output.js';
import { type TraceOptions, traceOption } from '../trace.js';

export type RpcCommandOptions = HostOptions & TraceOptions;

async function withRpc<T>(
  opts: RpcCommandOptions,
  fn: (rpc: import('@vmw9/rpc').RpciClient, rpcMod: typeof import('@vmw9/rpc')) => Promise<T>,
): Promise<T> {
  const rpcMod = await import('@vmw9/rpc');
  const { port } = await openHost(opts);
  const rpc = rpcMod.RpciClient.overPort(port, traceOption(opts, rpcMod));
  try {
    return await fn(rpc, rpcMod);
  } catch (e) {
    if (e instanceof CliError) throw e;
    if (e instanceof TypeError) throw new CliError(e.message, Exit.USAGE);
    throw new CliError((e as Error).message, Exit.FAILED);
  } finally {
    await rpc.close().catch(() => undefined);
    await port.close?.();
  }
}

export async function rpcCommand(o: Output, command: string, opts: RpcCommandOptions): Promise<number> {
  return withRpc(opts, async (rpc) => {
    const r = await rpc.send(command);
    if (o.json) printJson(o, { ok: r.ok, reply: r.text });
    else if (r.ok) o.out(r.text);
    else o.err(r.text);
    return r.ok ? Exit.OK : Exit.FAILED;
  });
}

export async function infoGetCommand(o: Output, key: string, opts: RpcCommandOptions): Promise<number> {
  return withRpc(opts, async (rpc, m) => {
    const v = await m.guestinfoGetBytes(rpc, key);
    if (o.json) printJson(o, { key, value: v?.toString('utf8') ?? null });
    else if (v !== null) {
      // The bytes as they are, and a newline unless the value ends in one (as for text before).
      process.stdout.write(v);
      if (v[v.length - 1] !== 0x0a) process.stdout.write('\n');
    } else o.err(`vmw9: no value for ${key}${freshHostHint(opts)}`);
    return v === null ? Exit.FAILED : Exit.OK;
  });
}

export async function infoSetCommand(
  o: Output,
  key: string,
  value: string,
  opts: RpcCommandOptions,
): Promise<number> {
  // "-" reads the value's bytes from standard input, without its final newline.
  const v = value === '-' ? withoutFinalNewline(readFileSync(0)) : value;
  return withRpc(opts, async (rpc, m) => {
    await m.guestinfoSet(rpc, key, v);
    if (o.json) printJson(o, { key, set: true });
    return Exit.OK;
  });
}

export async function logCommand(o: Output, text: string, opts: RpcCommandOptions): Promise<number> {
  return withRpc(opts, async (rpc, m) => {
    await m.log(rpc, text);
    if (o.json) printJson(o, { logged: true });
    return Exit.OK;
  });
}

/** `--host sim` is a new host each time: a value set by an earlier command cannot be there. */
function freshHostHint(opts: HostOptions): string {
  if (opts.host !== 'sim') return '';
  return " (--host sim is a fresh simulated host for each command, so nothing set by an earlier one is kept; for a host that lasts: vmw9 sim --listen 'unix!/tmp/host.sock' and --host 'unix!/tmp/host.sock')";
}

function withoutFinalNewline(b: Buffer): Buffer {
  if (b[b.length - 1] !== 0x0a) return b;
  return b.subarray(0, b.length - (b[b.length - 2] === 0x0d ? 2 : 1));
}
