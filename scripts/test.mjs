#!/usr/bin/env node
// Runs the test suites and ends with the totals alone on a line: `N passed, N failed`.
//   node scripts/test.mjs all|unit|peers [vitest args…]
// `peers` and `all` first install what the real-peer suites need (Debian packages only), via each
// harness's install-deps.sh. A JSON report is kept in .reports/vitest.json for .ci/run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const mode = process.argv[2] ?? 'all';
const extra = process.argv.slice(3);
if (!['all', 'unit', 'peers'].includes(mode)) {
  console.error('usage: node scripts/test.mjs all|unit|peers [vitest args…]');
  process.exit(2);
}

if (mode !== 'unit') {
  for (const dir of ['tools', 'packages', 'apps']) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const script = join(dir, name, 'install-deps.sh');
      if (!existsSync(script)) continue;
      const r = spawnSync('bash', [script], { stdio: 'inherit' });
      if (r.status !== 0)
        console.error(`test: ${script} failed (exit ${r.status}); the peer suites that need it will fail`);
    }
  }
}

const projects = listProjects();
const chosen = projects.filter((p) =>
  mode === 'all' ? true : mode === 'peers' ? p.endsWith('-peers') : !p.endsWith('-peers'),
);
mkdirSync('.reports', { recursive: true });
const report = '.reports/vitest.json';
rmSync(report, { force: true });
const args = [
  'vitest',
  'run',
  ...chosen.flatMap((p) => ['--project', p]),
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...extra,
];
const r = spawnSync('pnpm', ['exec', ...args], { stdio: 'inherit' });
const totals = readTotals(report);
console.log(
  `${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`,
);
process.exit(r.status === 0 && totals.failed === 0 ? 0 : 1);

function listProjects() {
  const names = [];
  for (const dir of ['packages', 'apps', 'tools']) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      for (const cfg of ['vitest.config.ts', 'vitest.peers.config.ts']) {
        const f = join(dir, name, cfg);
        if (!existsSync(f)) continue;
        const m = /name:\s*'([^']+)'/.exec(readFileSync(f, 'utf8'));
        if (m) names.push(m[1]);
      }
    }
  }
  return names;
}

function readTotals(file) {
  try {
    const j = JSON.parse(readFileSync(file, 'utf8'));
    // A suite that failed to load counts as failed even when it holds no test.
    const loadFailures = (j.testResults ?? []).filter(
      (t) => t.status === 'failed' && (t.assertionResults ?? []).length === 0,
    ).length;
    return {
      passed: j.numPassedTests ?? 0,
      failed: (j.numFailedTests ?? 0) + loadFailures,
      skipped: (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0),
    };
  } catch {
    return { passed: 0, failed: 1, skipped: 0 };
  }
}
