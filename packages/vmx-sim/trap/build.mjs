#!/usr/bin/env node
// Builds vmx-trap into the current directory (the per-platform package, packages/vmx-sim-linux-x64):
//   node ../vmx-sim/trap/build.mjs [--no-testprogs]
// One gcc call, linked statically so the prebuilt binary runs on any x86-64 Linux whatever its libc.
// Also builds the small test tracees (trap/testprogs) into build/testprogs, which is not published.
// When gcc is missing but a binary is already in place (the committed prebuild), that binary is
// kept and the build says so instead of failing.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.cwd(), 'vmx-trap');
const progs = resolve(process.cwd(), 'build/testprogs');
const cc = process.env.CC || 'gcc';

if (process.platform !== 'linux' || !['x64'].includes(process.arch)) {
  console.log(`vmx-trap: nothing to build on ${process.platform}-${process.arch} (Linux x86-64 only)`);
  process.exit(0);
}
if (!hasCompiler(cc)) {
  if (existsSync(out)) {
    console.log(`vmx-trap: ${cc} not found; keeping the prebuilt ${out}`);
    process.exit(0);
  }
  console.error(`vmx-trap: ${cc} not found and no prebuilt ${out}; install it (Debian: gcc libc6-dev)`);
  process.exit(1);
}

const warn = ['-O2', '-Wall', '-Wextra'];
const sources = ['main.c', 'backdoor.c', 'cpuid.c'].map((f) => join(here, f));
run([...warn, '-static', '-s', ...sources, '-o', out]);
console.log(`vmx-trap: built ${out}`);

if (!process.argv.includes('--no-testprogs')) {
  const src = (f) => join(here, 'testprogs', f);
  const o = (f) => join(progs, f);
  mkdirSync(progs, { recursive: true });
  run([...warn, '-pthread', src('bd.c'), '-o', o('bd')]);
  run([...warn, '-shared', '-fPIC', src('cpuidlib.c'), '-o', o('libvmxcpuid.so')]);
  run([...warn, '-shared', '-fPIC', src('cpuidlib.c'), '-o', o('libvmxcpuiddl.so')]);
  run([...warn, src('cpuid.c'), `-L${progs}`, '-lvmxcpuid', '-Wl,-rpath,$ORIGIN', '-ldl', '-o', o('cpuid')]);
  run([...warn, '-static', '-DSTATIC', src('cpuid.c'), '-o', o('cpuid-static')]);
  console.log(`vmx-trap: built the test programs in ${progs}`);
}

function run(args) {
  execFileSync(cc, args, { stdio: 'inherit' });
}

function hasCompiler(cmd) {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
