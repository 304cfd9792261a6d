/**
 * `vmw9 stat`: every `vmware-toolbox-cmd stat` subcommand with its name, printed form and exit
 * status (docs/protocol/guestlib.md §5), the older `memory` and `uuid`,
 * and `all`: every VMGuestLib statistic, one per line, an invalid one "not available".
 */
import type { BackdoorPort } from '@vmw9/backdoor';
import type { GuestLibInfo, GuestLibStatName, GuestLibValue } from '@vmw9/rpc';
import { CliError, Exit } from '../exit.js';
import { type HostOptions, openHost } from '../host.js';
import { type Output, printJson } from '../output.js';

/** sysexits.h, as toolbox-cmd returns them: no handle (not in a VM), and a host that refused. */
export const EX_UNAVAILABLE = 69;
export const EX_TEMPFAIL = 75;

/** The guestlib getters toolbox-cmd offers: statistic, unit printed, and its failure wording. */
const GETTERS = {
  balloon: { stat: 'MEM_BALLOONED_MB', unit: 'MB', failed: 'Failed to get ballooned memory' },
  swap: { stat: 'MEM_SWAPPED_MB', unit: 'MB', failed: 'Failed to get swapped memory' },
  memlimit: { stat: 'MEM_LIMIT_MB', unit: 'MB', failed: 'Failed to get memory limit' },
  memres: { stat: 'MEM_RESERVATION_MB', unit: 'MB', failed: 'Failed to get memory reservation' },
  cpures: { stat: 'CPU_RESERVATION_MHZ', unit: 'MHz', failed: 'Failed to get CPU minimum' },
  cpulimit: { stat: 'CPU_LIMIT_MHZ', unit: 'MHz', failed: 'Failed to get CPU limit' },
} as const satisfies Record<string, { stat: GuestLibStatName; unit: string; failed: string }>;

const BACKDOOR = ['hosttime', 'speed', 'memory', 'uuid'] as const;
/** In toolbox-cmd's order (its help), then vmw9's own: all, memory, uuid. */
export const STATISTICS: readonly string[] = [
  'hosttime',
  'speed',
  'sessionid',
  ...Object.keys(GETTERS),
  'raw',
  'all',
  'memory',
  'uuid',
];

const RAW_ENCODINGS = ['', 'text', 'json', 'xml', 'yaml'] as const;

/** A refusal worded as toolbox-cmd words it, on standard error (or as JSON), with its exit status. */
function refused(o: Output, text: string, code: number, details: Record<string, unknown> = {}): number {
  if (o.json) printJson(o, { error: text, ...details });
  else o.err(text);
  return code;
}

/** For --json: a u64 that fits a JS number is a number, a larger one its decimal string. */
function jsonValue(v: GuestLibValue): unknown {
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8').replace(/\0.*$/s, '');
  return v;
}

export async function statCommand(
  o: Output,
  what: string,
  args: string[],
  opts: HostOptions,
): Promise<number> {
  // A word that names nothing is a usage error, found before any host is opened.
  if (!STATISTICS.includes(what))
    throw new CliError(`unknown statistic "${what}" (${STATISTICS.join(', ')})`, Exit.USAGE);
  if (what !== 'raw' && args.length > 0)
    throw new CliError(`stat ${what} takes no argument (only raw does)`, Exit.USAGE);
  if (what === 'raw') {
    if (args.length > 3) throw new CliError('stat raw [ENCODING [STAT [PARAM]]]', Exit.USAGE);
    if (!RAW_ENCODINGS.includes((args[0] ?? '') as (typeof RAW_ENCODINGS)[number]))
      throw new CliError(`stat raw: encoding is text, json, xml or yaml, got "${args[0]}"`, Exit.USAGE);
  }
  if ((BACKDOOR as readonly string[]).includes(what)) return backdoorStat(o, what, opts);
  return guestlibStat(o, what, args, opts);
}

async function backdoorStat(o: Output, what: string, opts: HostOptions): Promise<number> {
  const b = await import('@vmw9/backdoor');
  const { port } = await openHost(opts);
  try {
    const [value, text] = await backdoorValue(port, b, what);
    if (o.json) printJson(o, { [what]: value });
    else o.out(text);
    return Exit.OK;
  } catch (e) {
    if (e instanceof b.UnsupportedCommand)
      throw new CliError(`${e.message} (no such service on this host)`, Exit.FAILED);
    throw new CliError((e as Error).message, Exit.FAILED);
  } finally {
    await port.close?.();
  }
}

async function backdoorValue(
  port: BackdoorPort,
  b: typeof import('@vmw9/backdoor'),
  what: string,
): Promise<[unknown, string]> {
  switch (what) {
    case 'hosttime': {
      const d = (await b.getHostTime(port)).date;
      // vmware-toolbox-cmd prints local time as "%d %b %Y %H:%M:%S".
      const mon = d.toLocaleString('en-US', { month: 'short' });
      const pad = (n: number) => String(n).padStart(2, '0');
      return [
        d.toISOString(),
        `${pad(d.getDate())} ${mon} ${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`,
      ];
    }
    case 'speed': {
      const mhz = await b.getCpuMhz(port);
      return [mhz, `${mhz} MHz`];
    }
    case 'memory': {
      const m = await b.getMemorySize(port);
      return [
        m,
        `${Math.round(m.megabytes)} MB${m.truncated ? ' (the host answered bytes cut to 32 bits)' : ''}`,
      ];
    }
    default: {
      const uuid = await b.getBiosUuid(port);
      return [uuid, uuid];
    }
  }
}

async function guestlibStat(o: Output, what: string, args: string[], opts: HostOptions): Promise<number> {
  const rpcMod = await import('@vmw9/rpc');
  let port: BackdoorPort;
  try {
    ({ port } = await openHost(opts));
  } catch (e) {
    // libguestlib's OpenHandle fails only outside a VM; toolbox-cmd then exits 69.
    if (e instanceof CliError && e.exitCode === Exit.FAILED)
      return refused(o, `OpenHandle failed: Not running in a virtual machine (${e.message})`, EX_UNAVAILABLE);
    throw e;
  }
  const rpc = rpcMod.RpciClient.overPort(port);
  const client = new rpcMod.GuestLibClient(rpc);
  const failed = (prefix: string, e: unknown): number => {
    if (!(e instanceof rpcMod.GuestLibError)) throw e;
    return refused(o, `${prefix}: ${e.text}`, EX_TEMPFAIL, { code: e.code, detail: e.detail });
  };
  try {
    if (what === 'raw') {
      const [encoding = '', stat = '', param = ''] = args;
      let text: string;
      try {
        text = await client.raw(encoding as (typeof RAW_ENCODINGS)[number], stat, param);
      } catch (e) {
        return failed('Failed to get stat', e);
      }
      // toolbox-cmd prints the host's text as it is, adding nothing.
      if (o.json) printJson(o, { raw: text });
      else process.stdout.write(text);
      return Exit.OK;
    }
    let info: GuestLibInfo;
    try {
      info = await client.info();
    } catch (e) {
      return failed('UpdateInfo failed', e);
    }
    if (what === 'all') return printAll(o, info);
    if (what === 'sessionid') {
      const id = `0x${info.sessionId.toString(16)}`;
      if (o.json) printJson(o, { sessionid: id });
      else o.out(id);
      return Exit.OK;
    }
    const g = GETTERS[what as keyof typeof GETTERS];
    let value: GuestLibValue;
    try {
      value = rpcMod.guestLibValue(info, g.stat);
    } catch (e) {
      return failed(g.failed, e);
    }
    if (o.json) printJson(o, { [what]: jsonValue(value), unit: g.unit, statistic: g.stat });
    else o.out(`${value} ${g.unit}`);
    return Exit.OK;
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError((e as Error).message, Exit.FAILED);
  } finally {
    await rpc.close().catch(() => undefined);
    await port.close?.();
  }
}

/**
 * `stat all`: the session id, then each statistic of the V3 definition in id order, `NAME value`;
 * one the host marked invalid reads `not available`, one it did not send (an older host, V2)
 * `not sent by this host`: never a 0 that was not the host's. The same lines as the tree's
 * `mem/guestlib` (docs/protocol/tree.md §19).
 */
async function printAll(o: Output, info: GuestLibInfo): Promise<number> {
  const { guestLibLines, guestLibRows } = await import('@vmw9/fs');
  if (o.json) {
    const rows = guestLibRows(info);
    printJson(o, {
      version: info.version,
      sessionId: `0x${info.sessionId.toString(16)}`,
      stats: Object.fromEntries(rows.map((r) => [r.name, r.value === undefined ? null : jsonValue(r.value)])),
      unavailable: Object.fromEntries(rows.filter((r) => r.why).map((r) => [r.name, r.why])),
    });
  } else for (const line of guestLibLines(info)) o.out(line);
  return Exit.OK;
}
