/**
 * `vmw9 sim`: a simulated VMware host on a Unix socket, with its console on standard input.
 * It runs until SIGINT/SIGTERM (end of standard input does not stop it, so it can run detached).
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { vmw9RuntimeDir } from '@vmw9/fs/socket';
import { type DialAddress, formatDial, parseDial } from 'ninep/dial';
import { ensurePrivateDir } from 'ninep/runtime';
import { CliError, Exit } from '../exit.js';
import { stopped, stopSignal } from '../lifecycle.js';
import type { Output } from '../output.js';

export interface SimOptions {
  listen?: string;
  set?: string[];
  hb?: boolean;
  handshake?: boolean;
  option?: string[];
  share?: string[];
  hgfsLarge?: boolean;
  legacyClipboard?: boolean;
  /** `--guestlib NAME=VALUE` (repeatable), or false for `--no-guestlib`. */
  guestlib?: string[] | false;
}

/** Where a socket goes when no --listen is given: vmw9's private runtime directory. */
export function defaultSocket(name: string): string {
  return join(vmw9RuntimeDir(), name);
}

export async function simCommand(o: Output, opts: SimOptions): Promise<number> {
  const sim = await import('@vmw9/vmx-sim');
  const listen = opts.listen ?? formatDial({ net: 'unix', path: defaultSocket('sim.sock') });
  let addr: DialAddress;
  try {
    addr = parseDial(listen, { bare: false });
  } catch (e) {
    throw new CliError(`--listen: ${(e as Error).message}`, Exit.USAGE);
  }
  if (addr.net !== 'unix')
    throw new CliError(
      'the simulated host listens on unix!PATH only (its callers run on this machine)',
      Exit.USAGE,
    );
  const facts: Record<string, unknown> = {};
  for (const kv of opts.set ?? []) {
    const m = /^([^=]+)=(.*)$/.exec(kv);
    if (!m) throw new CliError(`--set takes FACT=VALUE, got "${kv}"`, Exit.USAGE);
    try {
      const [k, v] = sim.parseFact(m[1]!, m[2]!);
      facts[k] = v;
    } catch (e) {
      throw new CliError(`--set: ${(e as Error).message}`, Exit.USAGE);
    }
  }
  const options = (opts.option ?? []).map((kv): [string, string] => {
    const m = /^([^=]+)=(.*)$/.exec(kv);
    if (!m) throw new CliError(`--option takes NAME=VALUE, got "${kv}"`, Exit.USAGE);
    return [m[1]!, m[2]!];
  });
  let shares: ReturnType<typeof sim.parseShareSpec>[];
  try {
    shares = (opts.share ?? []).map((spec) => sim.parseShareSpec(spec));
  } catch (e) {
    throw new CliError(`--share: ${(e as Error).message}`, Exit.USAGE);
  }
  let host: InstanceType<typeof sim.VmxHost>;
  try {
    host = new sim.VmxHost({
      facts,
      hb: opts.hb !== false,
      autoHandshake: opts.handshake !== false,
      options,
      legacyClipboard: opts.legacyClipboard !== false,
      hgfs: { shares, largePackets: opts.hgfsLarge !== false },
      guestlib: { enabled: opts.guestlib !== false },
    });
  } catch (e) {
    // A share whose directory is missing, or a name given twice.
    if (e instanceof sim.ShareError) throw new CliError(`--share: ${e.message}`, Exit.USAGE);
    throw e;
  }
  for (const kv of opts.guestlib || []) {
    const m = /^([^=]+)=(.*)$/.exec(kv);
    if (!m) throw new CliError(`--guestlib takes NAME=VALUE, got "${kv}"`, Exit.USAGE);
    try {
      host.guestlib.set(m[1]!, m[2]!);
    } catch (e) {
      throw new CliError(`--guestlib: ${(e as Error).message}`, Exit.USAGE);
    }
  }
  // The default directory must be ours and private (another user could have made it first and
  // would then own the socket's directory); a directory the user names is theirs to choose.
  if (opts.listen === undefined) {
    try {
      ensurePrivateDir(dirname(addr.path));
    } catch (e) {
      throw new CliError((e as Error).message, Exit.FAILED);
    }
  } else mkdirSync(dirname(addr.path), { recursive: true, mode: 0o700 });
  let server: Awaited<ReturnType<typeof sim.serveHost>>;
  try {
    server = await sim.serveHost(host, addr.path, { onError: (m) => o.err(m) });
  } catch (e) {
    throw new CliError(`cannot listen on ${listen}: ${(e as Error).message}`, Exit.FAILED);
  }
  o.err(`vmw9 sim: a simulated VMware host (not a real one) is listening on ${formatDial(addr)}`);
  o.err(
    `vmw9 sim: product type ${host.facts.productType}, high bandwidth ${host.hb ? 'on' : 'off'}; type "help" for the console`,
  );
  o.err(
    host.guestlib.enabled
      ? `vmw9 sim: VMGuestLib on (versions 2 and 3), session 0x${host.guestlib.sessionId.toString(16)}; console "guestlib" shows the statistics`
      : 'vmw9 sim: VMGuestLib off, as Workstation with the Guest API off (guestlib requests: Unknown command)',
  );
  if (!host.legacyClipboard)
    o.err('vmw9 sim: the legacy backdoor clipboard is refused: copy/paste goes over version 4 only');
  for (const s of host.hgfs.shares.list())
    o.err(`vmw9 sim: sharing ${s.name} = ${s.root}${s.readOnly ? ' (read-only)' : ''}`);
  // With --json, scripts get the address and then one object per console command.
  if (o.json)
    o.out(
      JSON.stringify({
        address: formatDial(addr),
        productType: host.facts.productType,
        hb: host.hb,
        legacyClipboard: host.legacyClipboard,
        guestlib: host.guestlib.enabled ? { sessionId: `0x${host.guestlib.sessionId.toString(16)}` } : false,
        hgfs: {
          largePackets: host.hgfs.largePackets,
          maxPacketSize: host.hgfs.maxPacketSize,
          shares: host.hgfs.shares.list().map((s) => ({ name: s.name, dir: s.root, readOnly: s.readOnly })),
        },
      }),
    );

  // What a command started reports later (progress and outcome of drop, take, ft): one line each.
  host.notices.on('line', (line: string) => o.out(o.json ? JSON.stringify({ notice: line }) : line));
  const rl = createInterface({ input: process.stdin, terminal: false });
  rl.on('line', (line) => {
    const answer = sim.runConsoleCommand(host, line);
    if (o.json) {
      if (line.trim()) o.out(JSON.stringify({ command: line, ok: !answer.startsWith('error:'), answer }));
    } else if (answer) o.out(answer);
  });
  await stopped(stopSignal());
  rl.close();
  await server.close();
  o.err('vmw9 sim: stopped');
  return Exit.OK;
}
