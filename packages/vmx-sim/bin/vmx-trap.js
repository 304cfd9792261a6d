#!/usr/bin/env node
// vmx-trap: runs the native launcher for this platform (from @vmw9/vmx-sim-linux-x64, or the path in
// $VMW9_VMX_TRAP) with the same arguments and stdio, passes termination signals on to it, and exits
// as it did. See packages/vmx-sim/trap/README.md for what the launcher does.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { constants } from 'node:os';

const require = createRequire(import.meta.url);

function resolveBinary() {
  if (process.env.VMW9_VMX_TRAP) return process.env.VMW9_VMX_TRAP;
  const platform = `${process.platform}-${process.arch}`;
  if (platform !== 'linux-x64') {
    console.error(
      `vmx-trap: no launcher for ${platform}: it needs Linux on x86-64 (ptrace and the x86 backdoor ` +
        'instructions). Set VMW9_VMX_TRAP to a vmx-trap binary to override.',
    );
    process.exit(125);
  }
  try {
    return require.resolve(`@vmw9/vmx-sim-${platform}/vmx-trap`);
  } catch {
    console.error(
      `vmx-trap: @vmw9/vmx-sim-${platform} is not installed (it is an optional dependency of ` +
        '@vmw9/vmx-sim; reinstall without --no-optional), or set VMW9_VMX_TRAP to a vmx-trap binary.',
    );
    process.exit(125);
  }
}

const child = spawn(resolveBinary(), process.argv.slice(2), { stdio: 'inherit' });
const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const forward = (/** @type {NodeJS.Signals} */ sig) => {
  child.kill(sig);
};
for (const sig of forwarded) process.on(sig, forward);

child.on('error', (err) => {
  console.error(`vmx-trap: cannot start ${child.spawnfile}: ${err.message}`);
  process.exit(125);
});
child.on('exit', (code, signal) => {
  if (signal) {
    // Die the same way, so our parent sees what the launcher saw; signals Node will not die from
    // (or cannot re-raise) become the shell's 128+N.
    for (const sig of forwarded) process.off(sig, forward);
    try {
      process.kill(process.pid, signal);
    } catch {}
    setTimeout(() => process.exit(128 + (constants.signals[signal] ?? 0)), 100);
    return;
  }
  process.exit(code ?? 1);
});
