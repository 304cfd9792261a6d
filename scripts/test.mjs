#!/usr/bin/env node
// Runs the test suites and ends with the totals alone on a line: `N passed, N failed`.
//   node scripts/test.mjs all|unit|peers [vitest args…]
// `peers` and `all` first install what the real-peer suites need (Debian packages only), via each
// harness's install-deps.sh. A JSON report is kept in .reports/vitest.json for .ci/run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

// Two phases, so the real-peer suites never starve the unit suites of the machine's two cores:
// first every unit project (vitest's usual worker pool), then the heavy projects (QEMU guests,
// open-vm-tools, diod, the publish check that packs and installs every package) one file at a
// time. Each phase writes its own JSON report; .reports/vitest.json is their sum, for .ci/run.
const HEAVY = new Set(['publish-check']);
const projects = listProjects();
const chosen = projects.filter((p) =>
  mode === 'all' ? true : mode === 'peers' ? p.endsWith('-peers') : !p.endsWith('-peers'),
);
const isHeavy = (p) => p.endsWith('-peers') || HEAVY.has(p);
const phases = [
  { name: 'unit', projects: chosen.filter((p) => !isHeavy(p)), args: [] },
  { name: 'heavy', projects: chosen.filter(isHeavy), args: ['--maxWorkers=1'] },
].filter((ph) => ph.projects.length > 0);

mkdirSync('.reports', { recursive: true });
const report = '.reports/vitest.json';
rmSync(report, { force: true });
let ok = true;
const reports = [];
for (const phase of phases) {
  const file = `.reports/vitest-${phase.name}.json`;
  rmSync(file, { force: true });
  console.log(`\ntest: ${phase.name} phase: ${phase.projects.join(' ')}\n`);
  const r = spawnSync(
    'pnpm',
    [
      'exec',
      'vitest',
      'run',
      ...phase.projects.flatMap((p) => ['--project', p]),
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${file}`,
      ...phase.args,
      ...extra,
    ],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) ok = false;
  reports.push(readReport(file));
}
const merged = mergeReports(reports);
writeFileSync(report, JSON.stringify(merged));
const totals = readTotals(merged);
console.log(
  `${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`,
);
process.exit(ok && totals.failed === 0 ? 0 : 1);

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

function readReport(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    // A phase that wrote no report (vitest did not start) counts as one failure.
    return { numPassedTests: 0, numFailedTests: 1, testResults: [] };
  }
}

function mergeReports(list) {
  const sum = (k) => list.reduce((n, j) => n + (j[k] ?? 0), 0);
  return {
    numPassedTests: sum('numPassedTests'),
    numFailedTests: sum('numFailedTests'),
    numPendingTests: sum('numPendingTests'),
    numTodoTests: sum('numTodoTests'),
    numTotalTests: sum('numTotalTests'),
    success: list.every((j) => j.success !== false && (j.numFailedTests ?? 0) === 0),
    testResults: list.flatMap((j) => j.testResults ?? []),
  };
}

function readTotals(j) {
  // A suite that failed to load counts as failed even when it holds no test.
  const loadFailures = (j.testResults ?? []).filter(
    (t) => t.status === 'failed' && (t.assertionResults ?? []).length === 0,
  ).length;
  return {
    passed: j.numPassedTests ?? 0,
    failed: (j.numFailedTests ?? 0) + loadFailures,
    skipped: (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0),
  };
}
