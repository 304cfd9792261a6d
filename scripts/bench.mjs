#!/usr/bin/env node
// Runs every benchmark project (vitest.bench.config.ts in a package) and prints their reports.
//   node scripts/bench.mjs [vitest args…]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const projects = [];
for (const dir of ['packages', 'apps']) {
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    const f = join(dir, name, 'vitest.bench.config.ts');
    if (!existsSync(f)) continue;
    const m = /name:\s*'([^']+)'/.exec(readFileSync(f, 'utf8'));
    if (m) projects.push({ name: m[1], dir: join(dir, name) });
    if (existsSync(join(dir, name, 'install-deps.sh')))
      spawnSync('bash', [join(dir, name, 'install-deps.sh')], { stdio: 'inherit' });
  }
}
spawnSync('bash', ['tools/qemu-harness/install-deps.sh'], { stdio: 'inherit' });
// The CLI's benchmarks measure against open-vm-tools (vmhgfs-fuse, vmusr under Xvfb with xclip).
spawnSync('bash', ['packages/vmx-sim/install-deps.sh'], { stdio: 'inherit' });
rmSync('.reports/bench', { recursive: true, force: true });
mkdirSync('.reports/bench', { recursive: true });
let failed = false;
for (const p of projects) {
  const r = spawnSync(
    'pnpm',
    [
      'exec',
      'vitest',
      'run',
      '--root',
      p.dir,
      '--config',
      'vitest.bench.config.ts',
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit' },
  );
  failed ||= r.status !== 0;
}
console.log('\n=== benchmark reports ===');
for (const f of readdirSync('.reports/bench'))
  console.log(`\n# ${f}\n${readFileSync(join('.reports/bench', f), 'utf8')}`);
process.exit(failed ? 1 : 0);
