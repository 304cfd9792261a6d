/**
 * Lazy loader of the compiled addon. Nothing native is touched until the first call, so importing
 * this package on a platform without a binary is harmless; the first use gives one clear error.
 * Lookup order: $VMW9_BACKDOOR_NATIVE_PATH (a .node file, for testing a fresh build), the
 * per-platform package `@vmw9/backdoor-native-<platform>-<arch>` (installed by npm/pnpm as an
 * optional dependency), then a local `build/backdoor.node` next to this package.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { BackdoorUnavailable } from '@vmw9/backdoor';

/** What the addon exports (native/addon.cc). */
export interface NativeBinding {
  /** `in eax, dx` with the 7 registers, updated in place. */
  lowBandwidth(regs: Uint32Array): void;
  /** Binds a register block for lowBandwidthBound (the block must stay referenced; it is, by the addon). */
  bindBlock(regs: Uint32Array): void;
  /** `in eax, dx` on the bound block: no arguments cross into native code. */
  lowBandwidthBound(): void;
  /** `rep outsb` of all of `data`. */
  hbOut(regs: Uint32Array, data: Uint8Array): void;
  /** `rep insb` filling all of `into`. */
  hbIn(regs: Uint32Array, into: Uint8Array): void;
  /** A low-bandwidth call made in a forked child: a fault kills only the child. */
  probe(
    regs: Uint32Array,
    timeoutMs: number,
  ): { ok: boolean; signal: number; timedOut: boolean; errno: number };
  /** CPUID, or null off x86. */
  cpuid(leaf: number, subleaf: number): Uint32Array | null;
  /** The architecture the addon was built for: x64, ia32 or arm64. */
  arch: string;
  abiVersion: number;
}

const ABI_VERSION = 1;
const require = createRequire(import.meta.url);
let cached: NativeBinding | undefined;

/** The platform package that carries the binary for this machine. */
export function platformPackage(): string {
  return `@vmw9/backdoor-native-${process.platform}-${process.arch}`;
}

/** Loads the addon once; throws BackdoorUnavailable (reason `no-binary`) with advice when it cannot. */
export function loadBinding(): NativeBinding {
  if (cached) return cached;
  const tried: string[] = [];
  const candidates: string[] = [];
  const explicit = process.env['VMW9_BACKDOOR_NATIVE_PATH'];
  if (explicit) candidates.push(explicit);
  candidates.push(`${platformPackage()}/backdoor.node`);
  const local = fileURLToPath(new URL('../build/backdoor.node', import.meta.url));
  if (existsSync(local)) candidates.push(local);
  for (const c of candidates) {
    try {
      const b = require(c) as NativeBinding;
      if (b.abiVersion !== ABI_VERSION) {
        tried.push(`${c}: ABI ${b.abiVersion}, this loader needs ${ABI_VERSION}`);
        continue;
      }
      cached = b;
      return b;
    } catch (e) {
      tried.push(`${c}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new BackdoorUnavailable(
    `no native backdoor binary for ${process.platform}-${process.arch}. ` +
      `Install the optional dependency ${platformPackage()} (npm install --include=optional), ` +
      `or build one with a C++ compiler (see @vmw9/backdoor-native's README). Tried: ${tried.join('; ')}`,
    'no-binary',
  );
}
