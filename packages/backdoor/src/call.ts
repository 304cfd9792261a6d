import { BDOOR_MAGIC, BDOOR_PORT, Cmd, UNSUPPORTED } from './constants.js';
import { UnsupportedCommand } from './errors.js';
import { type BackdoorPort, checkUint32, maskRegisters, type Registers } from './port.js';

/** Arguments of a low-bandwidth call beyond magic, command and port, which this layer fills in. */
export interface CallArgs {
  /** ebx: the command's argument. */
  ebx?: number;
  /** ecx.hi: the subcommand. */
  sub?: number;
  /** edx.hi: e.g. a GuestMsg channel id. */
  edxHi?: number;
  esi?: number;
  edi?: number;
  ebp?: number;
}

const NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(Cmd).map(([k, v]) => [v, k]),
);

/** The symbolic name of a command number, e.g. 46 → `GETTIMEFULL`. */
export function commandName(cmd: number): string {
  return NAMES[cmd] ?? `CMD_${cmd}`;
}

/** Builds the register set of a low-bandwidth call, checking every argument. */
export function callRegisters(cmd: number, args: CallArgs = {}): Registers {
  checkUint32(cmd, 'command');
  if (cmd > 0xffff) throw new TypeError(`command must fit in 16 bits (ecx.lo), got ${cmd}`);
  const sub = checkUint32(args.sub ?? 0, 'sub');
  if (sub > 0xffff) throw new TypeError(`sub must fit in 16 bits (ecx.hi), got ${sub}`);
  const edxHi = checkUint32(args.edxHi ?? 0, 'edxHi');
  if (edxHi > 0xffff) throw new TypeError(`edxHi must fit in 16 bits, got ${edxHi}`);
  return {
    eax: BDOOR_MAGIC,
    ebx: checkUint32(args.ebx ?? 0, 'ebx'),
    ecx: ((sub << 16) | cmd) >>> 0,
    edx: ((edxHi << 16) | BDOOR_PORT) >>> 0,
    esi: checkUint32(args.esi ?? 0, 'esi'),
    edi: checkUint32(args.edi ?? 0, 'edi'),
    ebp: checkUint32(args.ebp ?? 0, 'ebp'),
  };
}

/** Makes one low-bandwidth call and returns the masked answer. */
export async function backdoorCall(port: BackdoorPort, cmd: number, args: CallArgs = {}): Promise<Registers> {
  const regs = callRegisters(cmd, args);
  return maskRegisters(await port.call(regs));
}

/** Throws UnsupportedCommand when the host answered eax = 0xFFFFFFFF. */
export function requireSupported(cmd: number, out: Registers): Registers {
  if (out.eax === UNSUPPORTED) {
    throw new UnsupportedCommand(cmd, commandName(cmd), out, 'the host answered eax=0xFFFFFFFF');
  }
  return out;
}

/** Throws UnsupportedCommand unless the host put the magic back in ebx (GETVERSION, GETHWVERSION). */
export function requireMagic(cmd: number, out: Registers): Registers {
  requireSupported(cmd, out);
  if (out.ebx !== BDOOR_MAGIC) {
    throw new UnsupportedCommand(
      cmd,
      commandName(cmd),
      out,
      `the magic is missing from ebx (got 0x${out.ebx.toString(16)}): no VMware backdoor answered`,
    );
  }
  return out;
}
