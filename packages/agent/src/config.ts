/**
 * The agent's configuration: an INI file in the spirit of open-vm-tools' tools.conf. Every
 * setting, its default and its meaning are in SETTINGS below, the one place they are documented;
 * `defaultConfigText()` prints them as a commented file. Unknown sections or keys and bad values
 * are errors naming the file and line: a typo must never silently fall back to a default.
 */
import { readFile } from 'node:fs/promises';
import type { PowerStateName } from '@vmw9/rpc';
import { DialError, parseDial } from 'ninep/dial';
import { ConfigError } from './errors.js';
import { BadGlob, compileGlob } from './glob.js';
import { readIni } from './ini.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
/** How log lines are written: JSON (machines, journald) or one readable line each (people). */
export type LogFormat = 'json' | 'pretty';
/** A log format, or `auto`: pretty on a terminal, JSON anywhere else. */
export type LogFormatSetting = LogFormat | 'auto';

export interface AgentConfig {
  powerops: {
    /** Script run for each host power request; null = none. */
    scripts: Record<PowerStateName, string | null>;
    scriptTimeoutMs: number;
    /** Run after a successful halt script (a shell command line). */
    shutdownCommand: string;
    /** Run after a successful reboot script. */
    rebootCommand: string;
    /** false: never run shutdownCommand/rebootCommand (containers, tests). */
    systemActions: boolean;
  };
  timesync: {
    /** false: ignore the host's Time_Synchronize and synctime entirely. */
    enabled: boolean;
    /** Steps the guest clock backwards when the host is behind (never by default). */
    allowBackward: boolean;
    /** Syncs even while an NTP daemon (chronyd, ntpd, systemd-timesyncd) is active. */
    ignoreNtp: boolean;
    /** Differences below this are left alone. */
    thresholdMs: number;
  };
  guestinfo: {
    /** How often guest info is gathered and changes sent; 0 = only on start, ping and reset. */
    pollIntervalMs: number;
    excludeNics: string[];
    includeNics: string[];
    primaryNics: string[];
    /** Sends disk usage (SetGuestDiskInfo). */
    disks: boolean;
  };
  logging: { level: LogLevel; format: LogFormatSetting };
  fs: {
    /** Dial string the tree is served on; null = the tree's default socket (@vmw9/fs's defaultTreeSocket). */
    listen: string | null;
    guestinfoKeys: string[];
    /** How often `events` readers' balloon target and session watch polls (docs/protocol/tree.md §19). */
    memPollMs: number;
  };
  hgfs: {
    /** false: no hgfs/ in the tree and no HGFS request to the host. */
    enabled: boolean;
    /** RPCI channels HGFS requests use at once (the host caps channels per VM). */
    channels: number;
    /** How long the host's answer about a file is reused (0: never). */
    attrCacheMs: number;
    /** Numeric owner shown for every shared file; null = the host's. */
    uid: number | null;
    /** Numeric group shown for every shared file; null = the host's. */
    gid: number | null;
    /** Permission bits taken away from shared directories. */
    dmask: number;
    /** Permission bits taken away from shared files. */
    fmask: number;
    /** Host files open at once through the tree (then EMFILE). */
    maxOpenFiles: number;
  };
  copypaste: {
    /** false: no copy/paste version 4 (no `toolbox-dnd` channel); the clipboard files use the legacy clipboard. */
    enabled: boolean;
  };
  dnd: {
    /** false: no drag and drop, no guest HGFS server, no dnd/ in the tree. */
    enabled: boolean;
    /** The staging root drops land under; null = the default (staging.ts, defaultStagingRoot). */
    dir: string | null;
    /** How long a whole drop is kept (0: until the user removes it). */
    keepMs: number;
    /** How long the host may stay silent in the middle of a drop before it fails. */
    idleTimeoutMs: number;
  };
}

/** Container and virtual interfaces: addresses on them are never the VM's address (open-vm-tools #100, #128, #373). */
export const DEFAULT_EXCLUDE_NICS = [
  'lo',
  'docker*',
  'veth*',
  'br-*',
  'cni*',
  'flannel*',
  'cali*',
  'cilium*',
  'weave*',
  'vxlan*',
  'kube-*',
  'lxc*',
  'podman*',
  'virbr*',
  'vnet*',
  'tun*',
  'tap*',
  'zt*',
];

type Kind =
  | 'boolean'
  | 'duration'
  /** A duration above 0 (a timer that must run out). */
  | 'timeout'
  | 'path'
  | 'command'
  | 'text'
  | 'globs'
  | 'words'
  | 'level'
  | 'logformat'
  | 'listen'
  | 'channels'
  | 'openfiles'
  | 'id'
  | 'mask';

interface Setting {
  kind: Kind;
  /** The default as written in the file ('' = none). */
  default: string;
  doc: string;
  apply(c: AgentConfig, v: unknown): void;
}

/**
 * The usual `apply`: store the parsed value as it is in `c[section][name]`. The value's type is
 * the setting's kind's (parseValue), which the table pairs with a field of that type.
 */
function field<S extends keyof AgentConfig>(
  section: S,
  name: keyof AgentConfig[S] & string,
): Setting['apply'] {
  return (c, v) => {
    (c[section] as Record<string, unknown>)[name] = v;
  };
}

const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
/** The values of [logging] format and of `vmw9 agent --log-format`. */
export const LOG_FORMATS: readonly LogFormatSetting[] = ['auto', 'json', 'pretty'];

const script = (state: PowerStateName, doc: string): Setting => ({
  kind: 'path',
  default: '',
  doc,
  apply: (c, v) => {
    c.powerops.scripts[state] = (v as string) || null;
  },
});

/** RPCI channels [hgfs] channels may ask for: the host's cap per VM is 128, shared with everything else. */
export const MAX_HGFS_CHANNELS = 32;
/** Host files [hgfs] max-open-files may allow: what a host's table per HGFS session holds (vmx-sim: 4096). */
export const MAX_HGFS_OPEN_FILES = 4096;

/** Every setting: section → key → kind, default, meaning. */
export const SETTINGS: Readonly<Record<string, Readonly<Record<string, Setting>>>> = {
  powerops: {
    'poweroff-script': script('halt', 'run when the host asks the guest to halt (OS_Halt)'),
    'reboot-script': script('reboot', 'run when the host asks the guest to reboot (OS_Reboot)'),
    'poweron-script': script('poweron', 'run after the VM powers on (OS_PowerOn)'),
    'resume-script': script('resume', 'run after the VM resumes (OS_Resume)'),
    'suspend-script': script('suspend', 'run before the VM suspends (OS_Suspend)'),
    'script-timeout': {
      kind: 'duration',
      default: '60s',
      doc: 'a script still running after this is killed and the request reported failed',
      apply: field('powerops', 'scriptTimeoutMs'),
    },
    'shutdown-command': {
      kind: 'command',
      default: 'shutdown -h now',
      doc: 'run (by /bin/sh) after a halt request once the script succeeded',
      apply: field('powerops', 'shutdownCommand'),
    },
    'reboot-command': {
      kind: 'command',
      default: 'shutdown -r now',
      doc: 'run (by /bin/sh) after a reboot request once the script succeeded',
      apply: field('powerops', 'rebootCommand'),
    },
    'system-actions': {
      kind: 'boolean',
      default: 'true',
      doc: 'false: run the scripts only, never shutdown-command or reboot-command (containers)',
      apply: field('powerops', 'systemActions'),
    },
  },
  timesync: {
    enabled: {
      kind: 'boolean',
      default: 'true',
      doc: "false: ignore the host's time synchronisation requests",
      apply: field('timesync', 'enabled'),
    },
    'allow-backward': {
      kind: 'boolean',
      default: 'false',
      doc: 'true: step the clock backwards when the host is behind',
      apply: field('timesync', 'allowBackward'),
    },
    'ignore-ntp': {
      kind: 'boolean',
      default: 'false',
      doc: 'true: sync even while chronyd, ntpd or systemd-timesyncd keeps the clock',
      apply: field('timesync', 'ignoreNtp'),
    },
    threshold: {
      kind: 'duration',
      default: '1s',
      doc: 'differences smaller than this are left alone',
      apply: field('timesync', 'thresholdMs'),
    },
  },
  guestinfo: {
    'poll-interval': {
      kind: 'duration',
      default: '30s',
      doc: 'how often guest info is gathered (changes only are sent); 0 = on start, ping and reset only',
      apply: field('guestinfo', 'pollIntervalMs'),
    },
    'exclude-nics': {
      kind: 'globs',
      default: DEFAULT_EXCLUDE_NICS.join(','),
      doc: 'interfaces never reported (globs, comma or blank separated; empty = none excluded)',
      apply: field('guestinfo', 'excludeNics'),
    },
    'include-nics': {
      kind: 'globs',
      default: '',
      doc: 'when set, only these interfaces are reported (exclude-nics still applies)',
      apply: field('guestinfo', 'includeNics'),
    },
    'primary-nics': {
      kind: 'globs',
      default: '',
      doc: 'interfaces reported first, in this order; the primary IP comes from the first',
      apply: field('guestinfo', 'primaryNics'),
    },
    disks: {
      kind: 'boolean',
      default: 'true',
      doc: 'report disk usage of mounted filesystems',
      apply: field('guestinfo', 'disks'),
    },
  },
  logging: {
    level: {
      kind: 'level',
      default: 'info',
      doc: `one of ${LEVELS.join(', ')}`,
      apply: field('logging', 'level'),
    },
    format: {
      kind: 'logformat',
      default: 'auto',
      doc: `one of ${LOG_FORMATS.join(', ')}: auto writes readable lines on a terminal and JSON lines anywhere else (journald)`,
      apply: field('logging', 'format'),
    },
  },
  fs: {
    listen: {
      kind: 'listen',
      default: '',
      doc: 'where the tree is served: unix!PATH or tcp!HOST!PORT; empty = a 0600 socket, $XDG_RUNTIME_DIR/vmw9/vmware.sock, else /run/vmw9/vmware.sock for root',
      apply: (c, v) => {
        c.fs.listen = (v as string) || null;
      },
    },
    'guestinfo-keys': {
      kind: 'words',
      default: '',
      doc: 'guestinfo keys listed in guestinfo/ from the start (VMware cannot enumerate them)',
      apply: field('fs', 'guestinfoKeys'),
    },
    'mem-poll': {
      kind: 'duration',
      default: '5s',
      doc: 'how often the balloon target and the guestlib session are polled, only while events is open (1s at least)',
      apply: (c, v) => {
        // Each poll is an RPCI and a debugfs read: shorter than a second is not a modest interval.
        c.fs.memPollMs = Math.max(v as number, 1000);
      },
    },
  },
  hgfs: {
    enabled: {
      kind: 'boolean',
      default: 'true',
      doc: 'false: no hgfs/ in the tree, and no shared-folder request reaches the host',
      apply: field('hgfs', 'enabled'),
    },
    channels: {
      kind: 'channels',
      default: '4',
      doc: `RPCI channels shared-folder requests use at once, 1 to ${MAX_HGFS_CHANNELS} (the host caps channels per VM, shared with every other program)`,
      apply: field('hgfs', 'channels'),
    },
    'attr-cache': {
      kind: 'duration',
      default: '1s',
      doc: "how long the host's answer about a shared file (its size, times, mode) is reused; 0 = ask every time",
      apply: field('hgfs', 'attrCacheMs'),
    },
    uid: {
      kind: 'id',
      default: '',
      doc: "numeric owner shown for every shared file; empty = the host's owner",
      apply: field('hgfs', 'uid'),
    },
    gid: {
      kind: 'id',
      default: '',
      doc: "numeric group shown for every shared file; empty = the host's group",
      apply: field('hgfs', 'gid'),
    },
    dmask: {
      kind: 'mask',
      default: '000',
      doc: 'permission bits (octal) taken away from shared directories, as for FAT: 022 hides write for group and others',
      apply: field('hgfs', 'dmask'),
    },
    fmask: {
      kind: 'mask',
      default: '000',
      doc: 'permission bits (octal) taken away from shared files',
      apply: field('hgfs', 'fmask'),
    },
    'max-open-files': {
      kind: 'openfiles',
      default: '1024',
      doc: `shared files open at once through the tree, 1 to ${MAX_HGFS_OPEN_FILES} (then EMFILE): the host's table per session is shared by every client`,
      apply: field('hgfs', 'maxOpenFiles'),
    },
  },
  copypaste: {
    enabled: {
      kind: 'boolean',
      default: 'true',
      doc: "false: no copy/paste version 4 with the host (no toolbox-dnd channel); snarf and clip/text use the host's legacy clipboard (text only, 65435 bytes)",
      apply: field('copypaste', 'enabled'),
    },
  },
  dnd: {
    enabled: {
      kind: 'boolean',
      default: 'true',
      doc: 'false: no drag and drop with the host (no dnd/ in the tree, no HGFS server for the host, no dnd_version capability)',
      apply: field('dnd', 'enabled'),
    },
    dir: {
      kind: 'path',
      default: '',
      doc: 'where dropped files are staged, one private directory per drop; empty = $XDG_RUNTIME_DIR/vmw9/dnd when that is set and private, else $XDG_CACHE_HOME/vmw9/dnd, else ~/.cache/vmw9/dnd (made 0700; drag and drop is off if another user owns it)',
      apply: (c, v) => {
        c.dnd.dir = (v as string) || null;
      },
    },
    keep: {
      kind: 'duration',
      default: '24h',
      doc: 'how long a dropped folder is kept before it is removed (at start, and by a timer); 0 = until you remove it',
      apply: field('dnd', 'keepMs'),
    },
    'idle-timeout': {
      kind: 'timeout',
      default: '60s',
      doc: 'a drop fails, and its files are removed, when the host writes nothing for this long before saying it is done',
      apply: field('dnd', 'idleTimeoutMs'),
    },
  },
};

function blank(): AgentConfig {
  return {
    powerops: {
      scripts: { halt: null, reboot: null, poweron: null, resume: null, suspend: null },
      scriptTimeoutMs: 0,
      shutdownCommand: '',
      rebootCommand: '',
      systemActions: true,
    },
    timesync: { enabled: true, allowBackward: false, ignoreNtp: false, thresholdMs: 0 },
    guestinfo: { pollIntervalMs: 0, excludeNics: [], includeNics: [], primaryNics: [], disks: true },
    logging: { level: 'info', format: 'auto' },
    fs: { listen: null, guestinfoKeys: [], memPollMs: 0 },
    hgfs: {
      enabled: true,
      channels: 0,
      attrCacheMs: 0,
      uid: null,
      gid: null,
      dmask: 0,
      fmask: 0,
      maxOpenFiles: 0,
    },
    copypaste: { enabled: true },
    dnd: { enabled: true, dir: null, keepMs: 0, idleTimeoutMs: 0 },
  };
}

/** The configuration with every default applied. */
export function defaultConfig(): AgentConfig {
  const c = blank();
  for (const keys of Object.values(SETTINGS))
    for (const [key, s] of Object.entries(keys))
      s.apply(c, parseValue(s.kind, s.default, key, '(defaults)', 0));
  return c;
}

/** Parses a configuration file's text; the result has every default the file does not override. */
export function parseConfig(text: string, file = 'agent.conf'): AgentConfig {
  const c = defaultConfig();
  const seen = new Map<string, number>();
  for (const e of readIni(text, file)) {
    const section = SETTINGS[e.section];
    if (!section)
      throw new ConfigError(
        file,
        e.line,
        `unknown section [${e.section}]; known: ${Object.keys(SETTINGS)
          .map((s) => `[${s}]`)
          .join(' ')}`,
      );
    if (e.key === '') continue;
    const s = section[e.key];
    if (!s)
      throw new ConfigError(
        file,
        e.line,
        `unknown key "${e.key}" in [${e.section}]; known: ${Object.keys(section).join(', ')}`,
      );
    const id = `${e.section}.${e.key}`;
    const first = seen.get(id);
    if (first !== undefined)
      throw new ConfigError(
        file,
        e.line,
        `"${e.key}" in [${e.section}] is set twice (first on line ${first})`,
      );
    seen.set(id, e.line);
    s.apply(c, parseValue(s.kind, e.value, e.key, file, e.line));
  }
  return c;
}

/** Reads and parses a configuration file. A missing file is an error unless `optional`. */
export async function loadConfig(path: string, opts: { optional?: boolean } = {}): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && opts.optional) return defaultConfig();
    throw new ConfigError(path, 0, `cannot read it (${code ?? (e as Error).message})`);
  }
  return parseConfig(text, path);
}

/** The defaults as a commented configuration file (`vmw9 agent --print-config`). */
export function defaultConfigText(): string {
  const out: string[] = [];
  for (const [section, keys] of Object.entries(SETTINGS)) {
    out.push(`[${section}]`);
    for (const [key, s] of Object.entries(keys)) out.push(`# ${s.doc}`, `# ${key} = ${s.default}`);
    out.push('');
  }
  return out.join('\n');
}

const BOOLEANS: Readonly<Record<string, boolean>> = {
  true: true,
  yes: true,
  on: true,
  '1': true,
  false: false,
  no: false,
  off: false,
  '0': false,
};

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `30`, `30s`, `500ms`, `5m`, `1h`; a bare number is seconds, as in tools.conf. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return null;
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 's']!);
}

function parseValue(kind: Kind, value: string, key: string, file: string, line: number): unknown {
  const bad = (why: string) => new ConfigError(file, line, `"${key}": ${why}`);
  switch (kind) {
    case 'boolean': {
      const b = BOOLEANS[value.toLowerCase()];
      if (b === undefined) throw bad(`expected true or false, got ${JSON.stringify(value)}`);
      return b;
    }
    case 'duration': {
      const d = parseDuration(value);
      if (d === null)
        throw bad(
          `expected a duration such as 30s, 500ms, 5m (a bare number is seconds), got ${JSON.stringify(value)}`,
        );
      return d;
    }
    case 'timeout': {
      const d = parseDuration(value);
      if (d === null || d <= 0)
        throw bad(`expected a duration above 0 such as 60s, 500ms, 5m, got ${JSON.stringify(value)}`);
      return d;
    }
    case 'path':
      if (value !== '' && !value.startsWith('/'))
        throw bad(`expected an absolute path, got ${JSON.stringify(value)}`);
      return value;
    case 'command':
      if (value === '') throw bad('expected a command line (set system-actions = false to run none)');
      return value;
    case 'text':
      return value;
    case 'globs': {
      const list = splitList(value);
      for (const g of list) {
        try {
          compileGlob(g);
        } catch (e) {
          if (e instanceof BadGlob) throw bad(`bad pattern: ${e.message}`);
          throw e;
        }
      }
      return list;
    }
    case 'words': {
      const list = splitList(value);
      for (const w of list)
        if (/[/\0\x00-\x1f\x7f]/.test(w)) throw bad(`${JSON.stringify(w)} cannot be a guestinfo key name`);
      return list;
    }
    case 'level': {
      const l = value.toLowerCase() as LogLevel;
      if (!LEVELS.includes(l))
        throw bad(`expected one of ${LEVELS.join(', ')}, got ${JSON.stringify(value)}`);
      return l;
    }
    case 'logformat': {
      const f = value.toLowerCase() as LogFormatSetting;
      if (!LOG_FORMATS.includes(f))
        throw bad(`expected one of ${LOG_FORMATS.join(', ')}, got ${JSON.stringify(value)}`);
      return f;
    }
    case 'channels': {
      const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
      if (!Number.isInteger(n) || n < 1 || n > MAX_HGFS_CHANNELS)
        throw bad(
          `expected a number of channels from 1 to ${MAX_HGFS_CHANNELS}, got ${JSON.stringify(value)}`,
        );
      return n;
    }
    case 'openfiles': {
      const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
      if (!Number.isInteger(n) || n < 1 || n > MAX_HGFS_OPEN_FILES)
        throw bad(
          `expected a number of files from 1 to ${MAX_HGFS_OPEN_FILES}, got ${JSON.stringify(value)}`,
        );
      return n;
    }
    case 'id': {
      if (value === '') return null;
      const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
      // 0xFFFFFFFF is "no id" in 9P (NONUNAME): never a real owner.
      if (!Number.isInteger(n) || n > 0xfffffffe)
        throw bad(`expected a numeric id (0 to 4294967294) or nothing, got ${JSON.stringify(value)}`);
      return n;
    }
    case 'mask': {
      if (!/^0?[0-7]{1,3}$/.test(value))
        throw bad(`expected octal permission bits such as 022, got ${JSON.stringify(value)}`);
      return Number.parseInt(value, 8);
    }
    case 'listen':
      if (value === '') return value;
      try {
        // The network is spelled out here: a bare HOST would be easy to mistake for a path.
        parseDial(value, { bare: false });
      } catch (e) {
        if (e instanceof DialError) throw bad(`${e.reason}, got ${JSON.stringify(value)}`);
        throw e;
      }
      return value;
  }
}

const splitList = (v: string): string[] => v.split(/[\s,]+/).filter(Boolean);
