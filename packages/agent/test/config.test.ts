/** Configuration: defaults, every kind of value, and errors that name the file and line. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_EXCLUDE_NICS,
  defaultConfig,
  defaultConfigText,
  loadConfig,
  parseConfig,
} from '../src/index.js';
import { tempDir } from './helpers.js';

const errorOf = (text: string): ConfigError => {
  try {
    parseConfig(text, '/etc/vmw9/agent.conf');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('accepted a bad configuration');
};

describe('configuration', () => {
  it('has documented defaults: scripts off, forward-only sync, virtual NICs excluded', () => {
    const c = defaultConfig();
    expect(c.powerops).toMatchObject({
      shutdownCommand: 'shutdown -h now',
      rebootCommand: 'shutdown -r now',
      systemActions: true,
      scriptTimeoutMs: 60_000,
    });
    expect(c.powerops.scripts.halt).toBeNull();
    expect(c.timesync).toEqual({ enabled: true, allowBackward: false, ignoreNtp: false, thresholdMs: 1000 });
    expect(c.guestinfo.pollIntervalMs).toBe(30_000);
    expect(c.guestinfo.excludeNics).toEqual(DEFAULT_EXCLUDE_NICS);
    expect(c.hgfs).toEqual({
      enabled: true,
      channels: 4,
      attrCacheMs: 1000,
      uid: null,
      gid: null,
      dmask: 0,
      fmask: 0,
      maxOpenFiles: 1024,
    });
    expect(c.copypaste).toEqual({ enabled: true });
    expect(defaultConfigText()).toContain('# poll-interval = 30s');
    expect(defaultConfigText()).toContain('[copypaste]\n# false: no copy/paste version 4');
    // The commented defaults parse back to the defaults once uncommented.
    const uncommented = defaultConfigText().replace(/^# (\S+ = .*)$/gm, '$1');
    expect(parseConfig(uncommented.replace(/^# .*$/gm, ''))).toEqual(c);
  });

  it('reads every kind of value', () => {
    const c = parseConfig(
      [
        '# a comment',
        '[powerops]',
        'poweroff-script = /usr/local/sbin/halt-hook',
        'script-timeout = 500ms',
        'system-actions = no',
        '[timesync]',
        'allow-backward = yes',
        '[guestinfo]',
        'poll-interval = 2m',
        'exclude-nics = lo, docker* veth?',
        'primary-nics = "ens[0-9]*"',
        '[logging]',
        'level = warn',
        'format = JSON',
        '[fs]',
        'listen = tcp!127.0.0.1!5640',
        'guestinfo-keys = a b,c',
        'mem-poll = 30s',
        '[hgfs]',
        'enabled = no',
        'channels = 8',
        'attr-cache = 250ms',
        'uid = 1000',
        'gid = 0',
        'dmask = 022',
        'fmask = 0133',
        'max-open-files = 64',
        '[copypaste]',
        'enabled = off',
      ].join('\n'),
    );
    expect(c.powerops.scripts.halt).toBe('/usr/local/sbin/halt-hook');
    expect(c.powerops.scriptTimeoutMs).toBe(500);
    expect(c.powerops.systemActions).toBe(false);
    expect(c.timesync.allowBackward).toBe(true);
    expect(c.guestinfo.pollIntervalMs).toBe(120_000);
    expect(c.guestinfo.excludeNics).toEqual(['lo', 'docker*', 'veth?']);
    expect(c.guestinfo.primaryNics).toEqual(['ens[0-9]*']);
    expect(c.logging).toEqual({ level: 'warn', format: 'json' });
    expect(c.fs).toEqual({ listen: 'tcp!127.0.0.1!5640', guestinfoKeys: ['a', 'b', 'c'], memPollMs: 30_000 });
    expect(c.hgfs).toEqual({
      enabled: false,
      channels: 8,
      attrCacheMs: 250,
      uid: 1000,
      gid: 0,
      dmask: 0o022,
      fmask: 0o133,
      maxOpenFiles: 64,
    });
    expect(c.copypaste).toEqual({ enabled: false });
  });

  it.each([
    ['[power]\nx = 1\n', 1, /unknown section \[power\]; known: \[powerops\]/],
    ['[powerops]\n\npoweroff-scirpt = /x\n', 3, /unknown key "poweroff-scirpt" in \[powerops\]/],
    ['[timesync]\nenabled = sometimes\n', 2, /"enabled": expected true or false, got "sometimes"/],
    ['[guestinfo]\n# x\npoll-interval = soon\n', 3, /"poll-interval": expected a duration/],
    [
      '[guestinfo]\nexclude-nics = eth[0-\n',
      2,
      /"exclude-nics": bad pattern: "eth\[0-": "\[" without a closing "\]"/,
    ],
    ['[powerops]\npoweroff-script = halt.sh\n', 2, /expected an absolute path/],
    ['[powerops]\nshutdown-command =\n', 2, /expected a command line/],
    ['[logging]\nlevel = loud\n', 2, /expected one of fatal, error/],
    ['[logging]\nformat = xml\n', 2, /"format": expected one of auto, json, pretty, got "xml"/],
    ['[fs]\nlisten = 5640\n', 2, /expected unix!PATH or tcp!HOST!PORT/],
    ['[fs]\nlisten = tcp!h!99999\n', 2, /"listen": port "99999" is not 0\.\.65535, got "tcp!h!99999"/],
    ['[hgfs]\nchannels = 0\n', 2, /"channels": expected a number of channels from 1 to 32, got "0"/],
    ['[hgfs]\nchannels = 200\n', 2, /from 1 to 32, got "200"/],
    [
      '[hgfs]\nmax-open-files = 0\n',
      2,
      /"max-open-files": expected a number of files from 1 to 4096, got "0"/,
    ],
    ['[hgfs]\nmax-open-files = 5000\n', 2, /from 1 to 4096, got "5000"/],
    ['[hgfs]\nuid = -1\n', 2, /"uid": expected a numeric id \(0 to 4294967294\) or nothing, got "-1"/],
    ['[hgfs]\ngid = 4294967295\n', 2, /"gid": expected a numeric id/],
    ['[hgfs]\ndmask = 0o22\n', 2, /"dmask": expected octal permission bits such as 022, got "0o22"/],
    ['[hgfs]\nfmask = 8\n', 2, /"fmask": expected octal permission bits/],
    ['[copypaste]\nenabled = v4\n', 2, /"enabled": expected true or false, got "v4"/],
    ['[copypaste]\nversion = 4\n', 2, /unknown key "version" in \[copypaste\]; known: enabled/],
    ['level = info\n', 1, /outside any \[section\]/],
    ['[logging]\nlevel\n', 2, /expected "key = value"/],
    ['[logging]\nlevel = info\nlevel = debug\n', 3, /set twice \(first on line 2\)/],
    ['[logging\n', 1, /a section header is "\[name\]"/],
  ])('rejects %j at line %i', (text, line, re) => {
    const e = errorOf(text);
    expect(e.line).toBe(line);
    expect(e.file).toBe('/etc/vmw9/agent.conf');
    expect(e.message).toMatch(new RegExp(`^/etc/vmw9/agent\\.conf:${line}: `));
    expect(e.message).toMatch(re);
  });

  it('loads files: a missing named file is an error, a missing default is the defaults', async () => {
    const dir = tempDir();
    const p = join(dir, 'agent.conf');
    writeFileSync(p, '[timesync]\nenabled = false\n');
    expect((await loadConfig(p)).timesync.enabled).toBe(false);
    await expect(loadConfig(join(dir, 'none.conf'))).rejects.toThrow(/none\.conf: cannot read it \(ENOENT\)/);
    expect(await loadConfig(join(dir, 'none.conf'), { optional: true })).toEqual(defaultConfig());
    writeFileSync(p, '[timesync]\nenabled = false\nbogus = 1\n');
    await expect(loadConfig(p)).rejects.toThrow(`${p}:3: unknown key "bogus"`);
  });
});
