/** The vmw9 command line: one subcommand per layer, all sharing --host and --json. */
import { resolve } from 'node:path';
import type { LogFormatSetting } from '@vmw9/agent';
import { defaultTreeSocket } from '@vmw9/fs/socket';
import { Command, CommanderError, Option } from 'commander';
import { agentSocketHelp, runningAgentSocket } from './agent-socket.js';
import { detectCommand } from './commands/detect.js';
import { dndOfferCommand, dndWatchCommand } from './commands/dnd.js';
import { hgfsGetCommand, hgfsLsCommand, hgfsPutCommand, hgfsSharesCommand } from './commands/hgfs.js';
import { hostCommand } from './commands/host.js';
import { mountCommand } from './commands/mount.js';
import { infoGetCommand, infoSetCommand, logCommand, rpcCommand } from './commands/rpc.js';
import { serveCommand } from './commands/serve.js';
import { mouseCommand, snarfCommand, timeCommand, versionCommand } from './commands/services.js';
import { simCommand } from './commands/sim.js';
import { statCommand } from './commands/stat.js';
import { statusCommand } from './commands/status.js';
import { timesyncCommand } from './commands/timesync.js';
import { CliError, Exit } from './exit.js';
import { stopSignal } from './lifecycle.js';
import { stdio } from './output.js';
import { traceOption } from './trace.js';

interface AgentCommandOptions {
  config?: string;
  listen?: string;
  level?: string;
  logFormat?: string;
  printConfig?: boolean;
  dndDir?: string;
}

interface Globals {
  host?: string;
  json?: boolean;
  trace?: boolean;
}

export async function main(argv: string[]): Promise<number> {
  let code: number = Exit.OK;
  // `vmw9 help 9p` shows the 9P client's own options; loaded only when 9p is on the line.
  const ninepHelp = argv.includes('9p') ? (await import('ninep/cli')).NINEP_HELP : '';
  const program = new Command('vmw9')
    .description('VMware guest tools: host services from the shell, and as files over 9P')
    .addOption(
      new Option(
        '--host <host>',
        'the VMware host: native (the real backdoor; the agent falls back to the embedded simulated host where none answers), sim (a fresh embedded simulated host for this command alone), or unix!PATH (a running vmw9 sim)',
      ).default('native'),
    )
    .option('--json', 'print machine-readable JSON')
    .option(
      '--trace',
      'print every GuestRPC message (rpc, info, log, serve) on standard error: channel, direction, size, first bytes',
    )
    .option('-V, --version', 'print the version of vmw9 and of each layer (as the version command)')
    // A usage error is one line, "vmw9: what is wrong" (commander adds "did you mean" when it can).
    .configureOutput({ outputError: (str, write) => write(`vmw9: ${str.replace(/^error: /, '')}`) })
    .exitOverride();

  const globals = (): Globals => program.opts<Globals>();
  // `--version` is the version command, whatever follows it; commander stops the parse like its own.
  program.on('option:version', () => {
    code = versionCommand(stdio(globals().json === true));
    throw new CommanderError(0, 'vmw9.version', '');
  });
  /** What the GuestRPC commands take from the globals. */
  const rpcGlobals = () => ({ host: globals().host, trace: globals().trace === true });
  const out = () => stdio(globals().json === true);

  program
    .command('detect')
    .description('say which transport reaches a VMware backdoor, and why (exit 0 only when one answers)')
    .option(
      '--force',
      'probe the backdoor whatever the CPU says (e.g. a QEMU guest with vmport); also VMW9_BACKDOOR=force',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  vmw9 detect\n  vmw9 detect --json\n  VMW9_BACKDOOR=force vmw9 detect',
    )
    .action(async (opts: { force?: boolean }) => {
      code = await detectCommand(out(), opts);
    });

  program
    .command('host')
    .description('print every fact the simple backdoor commands give (version, memory, UUID, time, …)')
    .option('--force', 'probe the backdoor whatever the CPU says')
    .addHelpText('after', '\nExamples:\n  vmw9 host\n  vmw9 host --json | jq .facts.biosUuid')
    .action(async (opts: { force?: boolean }) => {
      code = await hostCommand(out(), { host: globals().host, force: opts.force });
    });

  program
    .command('rpc')
    .description(
      "send one GuestRPC (RPCI) command; prints the reply (exit 0) or the host's error (exit 1), like vmware-rpctool",
    )
    .argument('<command...>', 'the command and its arguments, e.g. info-get guestinfo.foo')
    .addHelpText(
      'after',
      "\nExamples:\n  vmw9 rpc info-get guestinfo.ovfEnv\n  vmw9 rpc 'log hello from the guest'\n  vmw9 --host sim rpc tools.capability.foo\n  vmw9 --trace rpc info-get guestinfo.ovfEnv   # and each message on stderr",
    )
    .action(async (words: string[]) => {
      code = await rpcCommand(out(), words.join(' '), rpcGlobals());
    });

  const info = program
    .command('info')
    .description('read and write guestinfo.* variables')
    .addHelpText(
      'after',
      '\nExamples:\n  vmw9 info get guestinfo.hostname\n  vmw9 info set guestinfo.role web',
    );
  info
    .command('get')
    .argument('<key>', 'e.g. guestinfo.hostname')
    .description("print a guestinfo value's bytes as they are (exit 1 when it is not set)")
    .addHelpText(
      'after',
      "\nExamples:\n  vmw9 info get guestinfo.hostname\n  vmw9 --json info get guestinfo.ovfEnv | jq -r .value\n  vmw9 --host 'unix!/tmp/host.sock' info get guestinfo.k   # a vmw9 sim keeps values between commands",
    )
    .action(async (key: string) => {
      code = await infoGetCommand(out(), key, rpcGlobals());
    });
  info
    .command('set')
    .argument('<key>', 'e.g. guestinfo.role')
    .argument('<value>', 'the value; - reads its bytes from standard input (less one final newline)')
    .description('set a guestinfo value')
    .addHelpText(
      'after',
      '\nExamples:\n  vmw9 info set guestinfo.role web\n  cat cloud-init.yaml | vmw9 info set guestinfo.userdata -',
    )
    .action(async (key: string, value: string) => {
      code = await infoSetCommand(out(), key, value, rpcGlobals());
    });

  program
    .command('log')
    .argument('<text...>', 'the line to write')
    .description("write a line to the VM's log on the host (vmware.log)")
    .addHelpText('after', "\nExamples:\n  vmw9 log backup finished\n  vmw9 log 'disk check: 3 errors'")
    .action(async (words: string[]) => {
      code = await logCommand(out(), words.join(' '), rpcGlobals());
    });

  const hgfs = program
    .command('hgfs')
    .description("the host's shared folders (HGFS), straight from the host: shares, ls, get, put")
    .option(
      '--channels <n>',
      'HGFS requests in flight at once, each on its own RPCI channel (1-128, default 4)',
    )
    .addHelpText(
      'after',
      "\nPaths are SHARE/PATH; the agent's tree shows the same folders under /hgfs.\n\nExamples:\n  vmw9 hgfs shares\n  vmw9 hgfs ls docs/reports\n  vmw9 hgfs get docs/reports/q3.pdf .\n  vmw9 hgfs put build.tar.gz docs/drop/\n  vmw9 --host 'unix!/tmp/host.sock' hgfs ls   # a vmw9 sim --share NAME=DIR",
    );
  const hgfsOpts = () => ({ ...rpcGlobals(), ...hgfs.opts<{ channels?: string }>() });
  hgfs
    .command('shares')
    .description('list the shared folders (read-only ones say so)')
    .addHelpText('after', '\nExamples:\n  vmw9 hgfs shares\n  vmw9 --json hgfs shares | jq -r .[].name')
    .action(async () => {
      code = await hgfsSharesCommand(out(), hgfsOpts());
    });
  hgfs
    .command('ls')
    .argument('[share/path]', 'a directory or file in a share (none: the shares)')
    .description('list a directory as ls -l does: mode, size, modification time (UTC), name, link target')
    .addHelpText('after', '\nExamples:\n  vmw9 hgfs ls\n  vmw9 hgfs ls docs\n  vmw9 --json hgfs ls docs/src')
    .action(async (spec: string | undefined) => {
      code = await hgfsLsCommand(out(), spec, hgfsOpts());
    });
  hgfs
    .command('get')
    .argument('<share/path>', 'the file to copy')
    .argument('[local]', 'where to: a file or directory (default: its name here); - is standard output')
    .description('copy a file from a share (a progress bar on a terminal for copies over a second)')
    .addHelpText(
      'after',
      '\nExamples:\n  vmw9 hgfs get docs/big.iso /tmp/\n  vmw9 hgfs get docs/notes.txt - | less\n  vmw9 --json hgfs get docs/a.bin a.bin',
    )
    .action(async (spec: string, local: string | undefined) => {
      code = await hgfsGetCommand(out(), spec, local, hgfsOpts());
    });
  hgfs
    .command('put')
    .argument('<local>', 'the file to copy; - is standard input')
    .argument('<share/path>', 'where to: a file, or a directory (ending in /) to keep the name')
    .description('copy a file into a share (written under a temporary name, then renamed into place)')
    .addHelpText(
      'after',
      '\nExamples:\n  vmw9 hgfs put report.pdf docs/\n  tar c src | vmw9 hgfs put - docs/src.tar\n  vmw9 --json hgfs put a.bin docs/a.bin',
    )
    .action(async (local: string, spec: string) => {
      code = await hgfsPutCommand(out(), local, spec, hgfsOpts());
    });

  program
    .command('serve')
    .description("serve the /mnt/vmware file tree over 9P (the tree alone, without the agent's TCLO loop)")
    .option(
      '--listen <addr>',
      `unix!PATH, a socket PATH, or tcp!HOST!PORT (default: a 0600 socket, ${defaultTreeSocket()})`,
    )
    .addHelpText(
      'after',
      "\nExamples:\n  vmw9 --host sim serve\n  vmw9 9p ls /                      # the tree on the default socket\n  vmw9 serve --listen /tmp/vmware.sock\n  vmw9 serve --listen 'tcp!127.0.0.1!5640'",
    )
    .action(async (opts: { listen?: string }) => {
      code = await serveCommand(out(), { ...rpcGlobals(), ...opts });
    });

  program
    .command('9p')
    .description(
      "a 9P client for any 9P server: ls|read|write|stat|create|rm [ADDR] PATH (no ADDR: the agent's socket)",
    )
    .argument('[args...]', '[-A NAME] [-D DIALECT] [-n N] [--json] ls|read|write|stat|create|rm [ADDR] PATH')
    .allowUnknownOption()
    .helpOption(false)
    .addHelpText('after', () => `\n${ninepHelp.trimEnd()}`)
    .addHelpText(
      'after',
      "\nExamples:\n  vmw9 9p read /version               # the running agent's tree\n  echo hello | vmw9 9p write /snarf\n  vmw9 9p -n 1 read /mouse             # one record of an event file\n  vmw9 9p ls 'unix!/tmp/fs.sock' /\n  vmw9 9p read 'tcp!127.0.0.1!5640' /version\n  vmw9 --json 9p ls /tmp/diod.sock -A /export /",
    )
    .action(async (args: string[]) => {
      const { ninepCommand } = await import('ninep/cli');
      code = await ninepCommand(
        args,
        { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
        { json: globals().json === true, defaultAddress: runningAgentSocket },
      );
    });

  program
    .command('agent')
    .description(
      'run the guest-tools daemon in the foreground: TCLO services and the /mnt/vmware tree (on the embedded simulated host where no VMware backdoor answers)',
    )
    .option(
      '--config <file>',
      'configuration file (INI, like tools.conf; default /etc/vmw9/agent.conf when it exists)',
    )
    .option(
      '--listen <addr>',
      `where to serve the tree: unix!PATH, a socket PATH or tcp!HOST!PORT (default: [fs] listen, else a 0600 socket, ${defaultTreeSocket()})`,
    )
    .option('--level <level>', 'log level: fatal, error, warn, info, debug, trace')
    .option(
      '--log-format <format>',
      'log lines: pretty (readable), json, or auto: pretty on a terminal, JSON elsewhere (default: [logging] format, else auto)',
    )
    .option(
      '--dnd-dir <dir>',
      'where files the host drags into the guest are staged (default: [dnd] dir, else $XDG_RUNTIME_DIR/vmw9/dnd, else ~/.cache/vmw9/dnd)',
    )
    .option('--print-config', 'print the default configuration, commented, and exit')
    .addHelpText(
      'after',
      "\nExamples:\n  vmw9 agent                        # then: vmw9 status; vmw9 9p read /version\n  vmw9 --host sim agent --listen 'unix!/tmp/vmware.sock'\n  vmw9 agent --print-config > /etc/vmw9/agent.conf\n  vmw9 agent --log-format json 2>&1 | jq -r .msg",
    )
    .action(async (opts: AgentCommandOptions) => {
      const agent = await import('@vmw9/agent');
      const logFormat = opts.logFormat?.toLowerCase() as LogFormatSetting | undefined;
      if (logFormat !== undefined && !agent.LOG_FORMATS.includes(logFormat))
        throw new CliError(
          `--log-format: expected one of ${agent.LOG_FORMATS.join(', ')}, got ${JSON.stringify(opts.logFormat)}`,
          Exit.USAGE,
        );
      if (opts.printConfig) {
        process.stdout.write(agent.defaultConfigText());
        code = Exit.OK;
        return;
      }
      const host = program.getOptionValueSource('host') === 'default' ? undefined : globals().host;
      const trace = traceOption({ trace: globals().trace === true }, await import('@vmw9/rpc'));
      try {
        await agent.runAgent({
          ...(trace.trace ? { start: { trace: trace.trace } } : {}),
          ...(opts.config ? { configFile: opts.config } : {}),
          ...(host ? { host: host as 'native' | 'sim' } : {}),
          ...(opts.listen ? { listen: opts.listen } : {}),
          ...(opts.level ? { level: opts.level as never } : {}),
          ...(opts.dndDir ? { dndDir: resolve(opts.dndDir) } : {}),
          // The global --json asks for machine-readable output: JSON log lines, unless told otherwise.
          ...(logFormat ? { logFormat } : globals().json ? { logFormat: 'json' as const } : {}),
          signal: stopSignal(),
          handleSignals: false,
        });
        code = Exit.OK;
      } catch (e) {
        if (e instanceof agent.ConfigError) throw new CliError(e.message, Exit.USAGE);
        throw new CliError((e as Error).message, Exit.FAILED);
      }
    });

  program
    .command('version')
    .description('print the version of vmw9 and of each layer')
    .addHelpText('after', '\nExamples:\n  vmw9 version\n  vmw9 --json version | jq .layers')
    .action(() => {
      code = versionCommand(out());
    });

  program
    .command('snarf')
    .description(
      "the host clipboard: paste it to standard output, or with - copy standard input to it (through the running agent, else the host's legacy clipboard)",
    )
    .argument('[-]', 'copy standard input to the host clipboard')
    .option('--socket <addr>', `the agent's socket PATH or dial string (default: ${agentSocketHelp()})`)
    .addHelpText(
      'after',
      '\nExamples:\n  vmw9 snarf > pasted.txt\n  echo hello | vmw9 snarf -\n  vmw9 snarf --socket /tmp/vmware.sock',
    )
    .action(async (dash: string | undefined, opts: { socket?: string }) => {
      code = await snarfCommand(out(), dash, { host: globals().host, ...opts });
    });

  program
    .command('mouse')
    .description('watch the absolute pointer (vmmouse): one line per event until interrupted')
    .option('--count <n>', 'stop after n events')
    .option('--interval <ms>', 'polling interval (default 10)')
    .addHelpText(
      'after',
      '\nExamples:\n  vmw9 mouse\n  vmw9 mouse --count 1          # one event, then exit\n  vmw9 --json mouse --count 10',
    )
    .action(async (opts: { count?: string; interval?: string }) => {
      code = await mouseCommand(out(), { host: globals().host, ...opts });
    });

  program
    .command('stat')
    .argument(
      '<what>',
      'hosttime, speed, sessionid, balloon, swap, memlimit, memres, cpures, cpulimit, raw, all, memory or uuid',
    )
    .argument('[args...]', 'raw only: [ENCODING [STAT [PARAM]]], ENCODING text, json, xml or yaml')
    .description(
      'one host statistic, as vmware-toolbox-cmd stat words it (exit 75 when the host refuses), or all of them',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  vmw9 stat balloon\n  vmw9 stat all\n  vmw9 --json stat all | jq .stats\n  vmw9 stat raw text session\n  vmw9 stat hosttime',
    )
    .action(async (what: string, args: string[]) => {
      code = await statCommand(out(), what, args, { host: globals().host });
    });

  program
    .command('timesync')
    .argument('<subcommand>', 'status, enable or disable')
    .description(
      "the host's periodic time sync option, as vmware-toolbox-cmd timesync has it (status exits 69 when disabled)",
    )
    .addHelpText(
      'after',
      '\nExamples:\n  vmw9 timesync status\n  vmw9 timesync enable\n  vmw9 --json timesync status',
    )
    .action(async (sub: string) => {
      code = await timesyncCommand(out(), sub, { host: globals().host });
    });

  program
    .command('time')
    .description("the host clock against this machine's, and the difference")
    .addHelpText('after', '\nExamples:\n  vmw9 time\n  vmw9 --json time | jq .guestMinusHostMs')
    .action(async () => {
      code = await timeCommand(out(), { host: globals().host });
    });

  program
    .command('mount')
    .description("mount the agent's tree with the Linux kernel's 9P client (needs root and 9p)")
    .option('--socket <path>', `the agent's socket (default: the running agent's, ${agentSocketHelp()})`)
    .option('--dir <dir>', 'where to mount', '/mnt/vmware')
    .option('--dry-run', 'print the mount command instead of running it')
    .addHelpText(
      'after',
      '\nExamples:\n  sudo vmw9 mount\n  vmw9 mount --dry-run               # print the mount(8) command\n  sudo vmw9 mount --socket /tmp/vmware.sock --dir /mnt/vmware',
    )
    .action(async (opts: { socket?: string; dir: string; dryRun?: boolean }) => {
      code = mountCommand(out(), { ...opts, socket: opts.socket ?? (await runningAgentSocket()) });
    });

  program
    .command('status')
    .description(
      'report the running agent: its socket, host transport, uptime, TCLO channel, services and counters (exit 1 when no agent answers)',
    )
    .option('--socket <addr>', `the agent's socket PATH or dial string (default: ${agentSocketHelp()})`)
    .addHelpText(
      'after',
      '\nExamples:\n  vmw9 status\n  sudo vmw9 status                  # the systemd agent, /run/vmw9/vmware.sock\n  vmw9 --json status | jq .tclo\n  vmw9 status --socket /tmp/vmware.sock',
    )
    .action(async (opts: { socket?: string }) => {
      code = await statusCommand(out(), opts);
    });

  const dnd = program
    .command('dnd')
    .description("drag and drop with the host, through the running agent's dnd/: watch drops, offer files")
    .option('--socket <addr>', `the agent's socket PATH or dial string (default: ${agentSocketHelp()})`)
    .addHelpText(
      'after',
      '\nExamples:\n  vmw9 dnd watch                          # each drop from the host, where its files are\n  vmw9 dnd offer report.pdf photos/       # prints the offer id\n  vmw9 dnd offer --wait build.tar.gz      # until the host takes it',
    );
  const dndSocket = () => dnd.opts<{ socket?: string }>();
  dnd
    .command('watch')
    .description(
      "print each drop the host makes into the guest (its id, files, bytes and the directory they are in) and each offer's fate, until interrupted; a progress bar on a terminal while a drop is received",
    )
    .option('--count <n>', 'stop after n drops (finished or failed)')
    .addHelpText(
      'after',
      '\nExamples:\n  vmw9 dnd watch\n  vmw9 dnd watch --count 1                # the next drop, then exit\n  vmw9 --json dnd watch | jq -r \'select(.event == "drop") | .path\'',
    )
    .action(async (opts: { count?: string }) => {
      code = await dndWatchCommand(out(), { ...dndSocket(), ...opts }, stopSignal());
    });
  dnd
    .command('offer')
    .argument('<path...>', 'files or directories to offer (made absolute)')
    .description(
      "offer files to the host: the host takes them when the user drags out of the VM's window; prints the offer id",
    )
    .option('--wait', 'wait until the host takes the offer (exit 1 if it is withdrawn first)')
    .addHelpText(
      'after',
      '\nExamples:\n  vmw9 dnd offer report.pdf\n  id=$(vmw9 dnd offer ~/out/*.png)\n  vmw9 dnd offer --wait build/ && echo taken',
    )
    .action(async (paths: string[], opts: { wait?: boolean }) => {
      code = await dndOfferCommand(out(), paths, { ...dndSocket(), ...opts }, stopSignal());
    });

  const collect = (v: string, prev: string[] = []) => [...prev, v];
  program
    .command('sim')
    .description('run a simulated VMware host on a Unix socket, with a console on standard input')
    .option('--listen <addr>', 'where to listen: unix!PATH (default: a private runtime directory)')
    .option(
      '--set <fact=value>',
      'set a host fact, e.g. productType=4 (repeatable; see the console\'s "fact")',
      collect,
    )
    .option(
      '--option <name=value>',
      'a Set_Option the host sends after Capabilities_Register, after its defaults copypaste=1 and enableDnD=1, whose value a name given here replaces (repeatable)',
      collect,
    )
    .option(
      '--share <name=dir>',
      'share a directory as HGFS shared folder NAME, read-only with NAME=DIR:ro (repeatable)',
      collect,
    )
    .option(
      '--no-hgfs-large',
      'keep HGFS to legacy 62 KiB packets (hgfs.packetSize.large FALSE), as older hosts do',
    )
    .option(
      '--no-legacy-clipboard',
      'refuse the legacy backdoor clipboard, as a host with only copy/paste version 4 does',
    )
    .option(
      '--guestlib <name=value>',
      'set a VMGuestLib statistic, NAME as in guestlibV3.x (e.g. MEM_BALLOONED_MB=300); the others keep ESX-like defaults (repeatable; see the console\'s "guestlib")',
      collect,
    )
    .option(
      '--no-guestlib',
      'answer VMGuestLib as Workstation with the Guest API off (vmware-toolbox-cmd stat: "VMware Guest API is not enabled on the host")',
    )
    .option('--no-hb', 'offer no high-bandwidth port (guests use the 4-byte path)')
    .option('--no-handshake', 'do not send reset/ping/Capabilities_Register to new TCLO channels')
    .addHelpText(
      'after',
      "\nExamples:\n  vmw9 sim --listen 'unix!/tmp/host.sock'\n  vmw9 sim --share docs=$HOME/docs --share pub=/srv/pub:ro --listen 'unix!/tmp/host.sock'\n  vmx-trap --host 'unix!/tmp/host.sock' -- vmhgfs-fuse -f .host:/docs /mnt/docs\n  echo \"info set guestinfo.k v\" | vmw9 sim --listen 'unix!/tmp/host.sock'\n  vmx-trap --host 'unix!/tmp/host.sock' -- vmware-rpctool \"info-get guestinfo.k\"\n  vmw9 sim --no-legacy-clipboard --listen 'unix!/tmp/host.sock'   # then: clip set TEXT, clip request, clip\n  vmw9 sim --guestlib MEM_BALLOONED_MB=300 --guestlib MEM_LIMIT_MB=2048 --listen 'unix!/tmp/host.sock'\n  vmx-trap --cpuid vmware --host 'unix!/tmp/host.sock' -- vmware-toolbox-cmd stat balloon   # 300 MB",
    )
    .action(async (opts) => {
      code = await simCommand(out(), opts);
    });

  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version requests end through here too, with code 0.
      return e.exitCode === 0 ? Exit.OK : Exit.USAGE;
    }
    const json = program.opts<Globals>().json === true;
    const o = stdio(json);
    if (e instanceof CliError) {
      if (json) o.out(JSON.stringify({ error: e.message, ...e.details }, null, 2));
      else o.err(`vmw9: ${e.message}`);
      return e.exitCode;
    }
    o.err(`vmw9: ${(e as Error).stack ?? String(e)}`);
    return Exit.FAILED;
  }
}
