#!/usr/bin/env node
// Builds the backdoor addon for one target into the current directory (a per-platform package):
//   node ../backdoor-native/scripts/build-native.mjs <x64|arm64|ia32> [--selftest]
// No node-gyp: one g++ call against the Node-API headers from npm (node-api-headers,
// node-addon-api), so no Node source headers or downloads are needed. arm64 uses Debian's
// aarch64-linux-gnu-g++. When the compiler is missing but a binary is already in place (the
// committed prebuild), that binary is kept and the build says so instead of failing.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const native = resolve(here, '../native');
const require = createRequire(join(here, '../package.json'));
const arch = process.argv[2];
const selftest = process.argv.includes('--selftest');

const targets = {
  x64: { cxx: 'g++', asm: 'backdoor_x86_64.S', flags: [] },
  // ia32 needs only the 32-bit libc (libc6-dev-i386, lib32stdc++-12-dev), not Debian's g++-multilib,
  // which conflicts with the aarch64 cross compiler over /usr/include/asm. The x86 asm/ headers
  // serve both widths, so they are taken from the x86-64 include directory.
  ia32: { cxx: 'g++', asm: 'backdoor_i386.S', flags: ['-m32', '-isystem', '/usr/include/x86_64-linux-gnu'] },
  arm64: { cxx: 'aarch64-linux-gnu-g++', asm: 'backdoor_arm64.cc', flags: [] },
};
const t = targets[arch];
if (!t) {
  console.error(`usage: build-native.mjs <${Object.keys(targets).join('|')}> [--selftest]`);
  process.exit(2);
}

const out = resolve(process.cwd(), selftest ? `build/selftest-${arch}` : 'backdoor.node');
if (!hasCompiler(t.cxx)) {
  if (existsSync(out)) {
    console.log(`build-native: ${t.cxx} not found; keeping the prebuilt ${out}`);
    process.exit(0);
  }
  console.error(
    `build-native: ${t.cxx} not found and no prebuilt ${out}; install it (Debian: ${
      arch === 'arm64' ? 'g++-aarch64-linux-gnu' : 'g++'
    })`,
  );
  process.exit(1);
}

const common = ['-O2', '-fPIC', '-std=c++17', '-Wall', '-Wextra', '-fno-exceptions', ...t.flags];
const sources = [join(native, 'probe.cc'), join(native, t.asm)];
let args;
if (selftest) {
  mkdirSync(dirname(out), { recursive: true });
  args = [...common, '-static', '-I', native, join(native, 'selftest.cc'), ...sources, '-o', out];
} else {
  const napiInclude = require('node-api-headers').include_dir;
  const addonInclude = require('node-addon-api').include_dir;
  args = [
    ...common,
    '-shared',
    '-s',
    '-fvisibility=hidden',
    '-DNAPI_VERSION=8',
    '-DNAPI_DISABLE_CPP_EXCEPTIONS',
    '-DNODE_ADDON_API_DISABLE_DEPRECATED',
    '-I',
    napiInclude,
    '-I',
    addonInclude,
    '-I',
    native,
    join(native, 'addon.cc'),
    ...sources,
    '-o',
    out,
  ];
}
execFileSync(t.cxx, args, { stdio: 'inherit' });
console.log(`build-native: built ${out}`);

function hasCompiler(cmd) {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
