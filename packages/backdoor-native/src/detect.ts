/**
 * Detection before any port I/O. On x86 it reads the CPUID hypervisor bit and vendor leaf:
 * VMware's signature means a backdoor should be there; KVM, Xen and Hyper-V signatures mean it is
 * not (open-vm-tools' VmCheck_IsVirtualWorld refuses the same ones); an unknown signature (QEMU TCG,
 * bhyve, …) or an explicit `force` is settled by probing GETVERSION in a short-lived child process,
 * so a fault can never kill this process. Even with VMware's signature the probe is made: a host
 * may restrict the backdoor (monitor_control.restrict_backdoor), and one fork is cheap.
 * On arm64 there is no CPUID: DMI's sys_vendor says whether this is VMware.
 */
import { readFileSync } from 'node:fs';
import {
  type BackdoorUnavailable,
  BDOOR_MAGIC,
  BDOOR_PORT,
  Cmd,
  PRODUCT_NAMES,
  UNSUPPORTED,
  VERSION_MAGIC,
} from '@vmw9/backdoor';
import { loadBinding, type NativeBinding } from './binding.js';

export interface CpuInfo {
  /** CPUID.1:ECX[31], or null off x86. */
  hypervisorBit: boolean | null;
  /** The 12-character vendor signature of leaf 0x40000000 (NULs removed), or null. */
  signature: string | null;
  /** A human name for the signature (VMware, KVM, Xen, Hyper-V, QEMU TCG, …), or null. */
  hypervisor: string | null;
}

export interface Detection {
  /** A backdoor answered GETVERSION with the magic. */
  available: boolean;
  transport: 'native';
  /** Machine-readable: `vmware`, `probed`, `hypervisor:KVM`, `no-hypervisor`, `fault:SIGSEGV`, `no-magic`, `no-binary`, `disabled`, … */
  reason: string;
  /** A sentence for people. */
  message: string;
  arch: string;
  cpu: CpuInfo;
  /** Whether the probe was forced (option or VMW9_BACKDOOR=force). */
  forced: boolean;
  /** What the probe saw, when one was made. */
  probe?: { ok: boolean; signal: string | null; timedOut: boolean; eax?: number; ebx?: number; ecx?: number };
  /** GETVERSION's answer when available. */
  version?: { version: number; productType: number; productName: string };
}

export interface DetectOptions {
  /** Probe whatever the CPU says (needed for QEMU vmport guests with a KVM signature). */
  force?: boolean;
  /** How long the probe child may take. */
  timeoutMs?: number;
  /** Binding to use (tests); default: the lazily loaded addon. */
  binding?: NativeBinding;
  /** Environment to read VMW9_BACKDOOR from; default process.env. */
  env?: Record<string, string | undefined>;
}

/** Signatures that mean "a hypervisor with no VMware backdoor": detection stops there. */
const REFUSED: Readonly<Record<string, string>> = {
  KVMKVMKVM: 'KVM',
  XenVMMXenVMM: 'Xen',
  'Microsoft Hv': 'Hyper-V',
};
const KNOWN: Readonly<Record<string, string>> = {
  VMwareVMware: 'VMware',
  TCGTCGTCGTCG: 'QEMU TCG',
  VBoxVBoxVBox: 'VirtualBox',
  'bhyve bhyve': 'bhyve',
  ' lrpepyh  vr': 'Parallels',
  ACRNACRNACRN: 'ACRN',
  ...REFUSED,
};

const SIGNALS: Readonly<Record<number, string>> = {
  4: 'SIGILL',
  5: 'SIGTRAP',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  11: 'SIGSEGV',
};

/** Reads the hypervisor facts from CPUID (x86) or DMI (elsewhere). Never does port I/O. */
export function cpuInfo(binding: NativeBinding): CpuInfo {
  const leaf1 = binding.cpuid(1, 0);
  if (!leaf1) {
    const vendor = readDmi('sys_vendor');
    return {
      hypervisorBit: null,
      signature: null,
      hypervisor: vendor && /vmware/i.test(vendor) ? 'VMware' : null,
    };
  }
  const hypervisorBit = (leaf1[2]! & 0x80000000) !== 0;
  if (!hypervisorBit) return { hypervisorBit, signature: null, hypervisor: null };
  const l = binding.cpuid(0x40000000, 0)!;
  const b = Buffer.alloc(12);
  b.writeUInt32LE(l[1]!, 0);
  b.writeUInt32LE(l[2]!, 4);
  b.writeUInt32LE(l[3]!, 8);
  const signature = b.toString('latin1').replace(/\0+$/, '');
  // Signatures are padded to 12 bytes with NULs or blanks (bhyve's is "bhyve bhyve ").
  const name = signature.trimEnd();
  return { hypervisorBit, signature, hypervisor: KNOWN[name] ?? null };
}

function readDmi(field: string): string | null {
  try {
    return readFileSync(`/sys/class/dmi/id/${field}`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Decides whether the native backdoor can be used here. Never throws, never faults. */
export function detect(opts: DetectOptions = {}): Detection {
  const env = opts.env ?? process.env;
  const mode = (env['VMW9_BACKDOOR'] ?? '').toLowerCase();
  const forced = opts.force === true || mode === 'force';
  const base = { transport: 'native' as const, forced };
  if (mode === 'off') {
    return {
      ...base,
      available: false,
      reason: 'disabled',
      message: 'the native backdoor is disabled by VMW9_BACKDOOR=off',
      arch: process.arch,
      cpu: { hypervisorBit: null, signature: null, hypervisor: null },
    };
  }
  let binding: NativeBinding;
  try {
    binding = opts.binding ?? loadBinding();
  } catch (e) {
    const err = e as BackdoorUnavailable;
    return {
      ...base,
      available: false,
      reason: err.reason ?? 'no-binary',
      message: err.message,
      arch: process.arch,
      cpu: { hypervisorBit: null, signature: null, hypervisor: null },
    };
  }
  const cpu = cpuInfo(binding);
  const arch = binding.arch;
  const result = (available: boolean, reason: string, message: string): Detection => ({
    ...base,
    available,
    reason,
    message,
    arch,
    cpu,
  });

  if (!forced) {
    const refused = cpu.signature === null ? undefined : REFUSED[cpu.signature.trimEnd()];
    if (refused) {
      const name = refused;
      return result(
        false,
        `hypervisor:${name}`,
        `this machine runs on ${name} (CPUID signature "${cpu.signature}"), which has no VMware backdoor; ` +
          'nothing was probed. To try anyway (e.g. a QEMU guest with vmport), use --force or VMW9_BACKDOOR=force, ' +
          'or use the simulated host: --host sim',
      );
    }
    if (cpu.hypervisorBit === false) {
      return result(
        false,
        'no-hypervisor',
        'no hypervisor: the CPU reports bare metal, so there is no VMware backdoor (use --force to probe anyway, or --host sim)',
      );
    }
    if (cpu.hypervisorBit === null && cpu.hypervisor !== 'VMware') {
      return result(
        false,
        'not-vmware',
        'DMI does not name VMware as the system vendor; nothing was probed (use --force to probe anyway, or --host sim)',
      );
    }
  }
  return probeVersion(binding, opts.timeoutMs ?? 3000, result, cpu);
}

function probeVersion(
  binding: NativeBinding,
  timeoutMs: number,
  result: (available: boolean, reason: string, message: string) => Detection,
  cpu: CpuInfo,
): Detection {
  // GETVERSION as open-vm-tools' VmCheck sends it: ebx = ~magic, ecx.hi = 0xFFFF.
  const regs = Uint32Array.of(
    BDOOR_MAGIC,
    ~BDOOR_MAGIC >>> 0,
    (0xffff << 16) | Cmd.GETVERSION,
    BDOOR_PORT,
    0,
    0,
    0,
  );
  const p = binding.probe(regs, timeoutMs);
  const signal = p.signal ? (SIGNALS[p.signal] ?? `signal ${p.signal}`) : null;
  const seen = { ok: p.ok, signal, timedOut: p.timedOut };
  if (p.errno) {
    return {
      ...result(false, 'probe-error', `could not start the probe process (errno ${p.errno})`),
      probe: seen,
    };
  }
  if (p.timedOut) {
    return {
      ...result(false, 'timeout', `the backdoor probe did not answer within ${timeoutMs} ms`),
      probe: seen,
    };
  }
  if (!p.ok) {
    const hint =
      signal === 'SIGSEGV'
        ? 'no backdoor answered the port, or this process lacks I/O privilege (a QEMU guest needs root and ioperm(0x5658,4,1))'
        : 'the backdoor instruction is not available here';
    return {
      ...result(
        false,
        `fault:${signal ?? 'unknown'}`,
        `probing GETVERSION faulted (${signal ?? 'child died'}): ${hint}`,
      ),
      probe: seen,
    };
  }
  const [eax, ebx, ecx] = [regs[0]!, regs[1]!, regs[2]!];
  const probe = { ...seen, eax, ebx, ecx };
  if (eax === UNSUPPORTED || ebx !== BDOOR_MAGIC) {
    return {
      ...result(
        false,
        'no-magic',
        `the port answered without the backdoor magic (eax=0x${eax.toString(16)} ebx=0x${ebx.toString(16)}): no VMware backdoor here`,
      ),
      probe,
    };
  }
  const productType = ecx >>> 16 === 0xffff ? 0 : ecx;
  const version = {
    version: eax,
    productType,
    productName: PRODUCT_NAMES[productType] ?? `type ${productType}`,
  };
  const where = cpu.hypervisor ?? (cpu.signature ? `"${cpu.signature}"` : 'unknown hypervisor');
  const note =
    eax === VERSION_MAGIC ? '' : ` (version ${eax}, not the ${VERSION_MAGIC} open-vm-tools expects)`;
  return {
    ...result(
      true,
      cpu.hypervisor === 'VMware' ? 'vmware' : 'probed',
      `a VMware backdoor answers on ${where}: ${version.productName}${note}`,
    ),
    probe,
    version,
  };
}
